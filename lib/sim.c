/* reco_sim: a trained feedback model run as a reco_env (see include/reco/sim.h for the step's
 * semantics). State per slot: the window of the last L interactions, user features, the step
 * count and a random stream. Nothing allocates after creation. */
#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "alias_private.h"
#include "alloc_private.h"
#include "detmath_private.h"
#include "env_private.h"
#include "error_private.h"
#include "file_private.h"
#include "reco/rng.h"
#include "reco/sim.h"
#include "state_private.h"

struct reco_sim {
    reco_allocator alloc;
    reco_sim_options o;
    const reco_model *model;
    reco_workspace *ws;
    size_t N, F, L, U, S, C, max_batch, H;
    int32_t *win_items;  /* (S, L) */
    uint32_t *win_fb;    /* (S, L) */
    float *feat;         /* (S, U) */
    float *elapsed;      /* (S) seconds since the session began */
    int32_t *long_items; /* (S, H) the long-term history, fixed for a session */
    uint32_t *long_fb;   /* (S, H) */
    uint64_t *user;      /* (S) */
    uint32_t *len;       /* (S) steps taken in the current session */
    uint8_t *active;     /* (S) 1 between reset and the end of the session */
    uint64_t *resets;    /* (S) */
    reco_rng *rng;       /* (S) */
    /* scratch for one scoring chunk of up to max_batch slots */
    int32_t *b_items;    /* (max_batch, L) */
    uint32_t *b_fb;      /* (max_batch, L) */
    float *b_feat;       /* (max_batch, U) */
    int32_t *b_shown;    /* (max_batch) */
    float *b_logits;     /* (max_batch, F + 1) */
    uint32_t *b_steps;   /* (max_batch) */
    float *b_elapsed;    /* (max_batch) */
    int32_t *b_long;     /* (max_batch, H) */
    uint32_t *b_long_fb; /* (max_batch, H) */
    char names[RECO_SIM_MAX_SIGNALS][RECO_SIGNAL_NAME_MAX + 1]; /* the imitated env's */
    const char *name_ptrs[RECO_SIM_MAX_SIGNALS];
    int has_names;
    reco__states src;    /* (max_batch) states read from the start env */
    int has_src;
    float *probs;        /* (S, F + 1) */
    uint64_t *taken;     /* (N) bits, all clear between calls: candidate membership */
    float *penalty;      /* (N) copy of the options' item_penalty, or NULL */
    float *alias_prob;   /* (N) alias table of the candidate weights, or NULL */
    uint32_t *alias;     /* (N) */
    uint32_t n_weighted; /* candidates per step drawn by weight */
    const reco_env *start;
    /* the pessimistic ensemble (options version 5): models 1..K-1 and their workspaces
     * (model 0 is `model`, scored in `ws`) */
    size_t K;
    const reco_model *ens[RECO_SIM_MAX_ENSEMBLE];
    reco_workspace *ens_ws[RECO_SIM_MAX_ENSEMBLE];
    float *ens_probs;    /* (K, max_batch, F + 1) one chunk's probabilities, model by model */
    float *reward_pen;   /* (S) pessimism * u_r of each entry of the last scoring */
};

int reco_sim_options_init(reco_sim_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_SIM_OPTIONS_VERSION, "reco_sim_options");
    if (rc < 0)
        return rc;
    const reco_sim_options d = RECO_SIM_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

int reco_sim_options_imitate(reco_sim_options *opts, const reco_env *env)
{
    static const char fn[] = "reco_sim_options_imitate";
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "%s: opts is NULL", fn);
    int rc = reco__env_check(env, fn);
    if (rc < 0)
        return rc;
    if (env->n_signals > RECO_SIM_MAX_SIGNALS)
        return reco__error_set(RECO_EINVAL, "%s: the env has %u signals; a simulator takes at "
                               "most %d", fn, env->n_signals, RECO_SIM_MAX_SIGNALS);
    if (opts->version < RECO_SIM_OPTIONS_VERSION) { /* the new fields get their defaults */
        reco_sim_options o = RECO_SIM_OPTIONS_INIT;
        if ((rc = reco__check_version(opts->version, RECO_SIM_OPTIONS_VERSION,
                                      "reco_sim_options")) < 0)
            return rc;
        memcpy(&o, opts, opts->version == 4   ? offsetof(reco_sim_options, ensemble)
                         : opts->version == 3 ? offsetof(reco_sim_options, imitate)
                         : opts->version == 2 ? offsetof(reco_sim_options, seconds_base)
                                              : offsetof(reco_sim_options, exclude_seen));
        o.version = RECO_SIM_OPTIONS_VERSION;
        *opts = o;
    }
    opts->imitate = env;
    if (env->version >= 4) {
        if (env->max_candidates != 0)
            opts->n_candidates = env->max_candidates;
        if (env->max_steps != 0)
            opts->max_session_len = env->max_steps;
        if (env->reward_weights != NULL)
            for (uint32_t f = 0; f < env->n_signals; f++)
                opts->reward[f] = env->reward_weights[f];
    }
    return RECO_OK;
}

/* The options against what the imitated env declares. */
static int validate_imitate(const reco_sim_options *o, const reco_model_options *mo)
{
    static const char fn[] = "reco_sim_create";
    const reco_env *env = o->imitate;
    int rc = reco__env_check(env, "reco_sim_create: sim.imitate");
    if (rc < 0)
        return rc;
    if (env->n_signals != mo->n_signals || env->n_items != mo->n_items)
        return reco__error_set(RECO_EINVAL, "%s: the model has %u signals and %u items; the "
                               "env it imitates %u and %u", fn, mo->n_signals, mo->n_items,
                               env->n_signals, env->n_items);
    if (env->version < 4)
        return RECO_OK;
    if (env->max_candidates != 0 && o->n_candidates != env->max_candidates)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.n_candidates",
                                  "%u, but the env it imitates gives %u candidates "
                                  "(max_candidates)", o->n_candidates, env->max_candidates);
    if (env->max_steps != 0 && o->max_session_len != env->max_steps)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.max_session_len",
                                  "%u, but the env it imitates cuts sessions at %u steps "
                                  "(max_steps)", o->max_session_len, env->max_steps);
    if (env->reward_weights != NULL)
        for (uint32_t f = 0; f < env->n_signals; f++)
            if (o->reward[f] != env->reward_weights[f])
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.reward",
                                          "signal %u (%s) weighs %g, but the env it imitates "
                                          "declares %g", f, reco_env_signal_name(env, f),
                                          (double)o->reward[f],
                                          (double)env->reward_weights[f]);
    return RECO_OK;
}

static int validate(const reco_sim_options *o, const reco_model_options *mo)
{
    int rc = reco__check_version(o->version, RECO_SIM_OPTIONS_VERSION, "reco_sim_options");
    if (rc < 0)
        return rc;
    if (mo->n_signals > RECO_SIM_MAX_SIGNALS)
        return reco__error_set(RECO_EINVAL, "reco_sim_create: the model has %u signals; at most "
                               "%d are supported", mo->n_signals, RECO_SIM_MAX_SIGNALS);
    if (o->max_sessions < 1 || o->max_sessions > 65536)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.max_sessions",
                                  "%u is out of range [1, 65536]", o->max_sessions);
    if (o->max_session_len < 1 || o->max_session_len > 100000)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.max_session_len",
                                  "%u is out of range [1, 100000]", o->max_session_len);
    const uint32_t cmax = mo->n_items < mo->max_candidates ? mo->n_items : mo->max_candidates;
    if (o->n_candidates < 1 || o->n_candidates > cmax)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.n_candidates",
                                  "%u is out of range [1, %u] (the catalog size or the model's "
                                  "max_candidates)", o->n_candidates, cmax);
    if (o->exclude_seen && (uint64_t)o->n_candidates + mo->lookback > mo->n_items)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.exclude_seen",
                                  "excluding the %u-item window needs n_candidates + lookback "
                                  "<= n_items (%u + %u > %u)", mo->lookback, o->n_candidates,
                                  mo->lookback, mo->n_items);
    if (o->candidate_weights != NULL) {
        double sum = 0.0;
        for (uint32_t i = 0; i < mo->n_items; i++) {
            if (!(o->candidate_weights[i] >= 0.0f) || !isfinite(o->candidate_weights[i]))
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.candidate_weights",
                                          "item %u's weight %g is not finite and >= 0", i,
                                          (double)o->candidate_weights[i]);
            sum += o->candidate_weights[i];
        }
        if (!(sum > 0.0))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.candidate_weights",
                                      "every weight is 0");
    }
    if (!(o->candidate_weight_share >= 0.0f && o->candidate_weight_share <= 1.0f))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.candidate_weight_share",
                                  "%g is not in [0, 1]", (double)o->candidate_weight_share);
    if (!(o->seconds_base >= 0.0f) || !isfinite(o->seconds_base))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.seconds_base",
                                  "%g is not a finite number of seconds >= 0",
                                  (double)o->seconds_base);
    for (uint32_t f = 0; f < mo->n_signals; f++)
        if (!isfinite(o->exit_tilt[f]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.exit_tilt",
                                      "signal %u's tilt is not finite", f);
    for (uint32_t f = 0; f < mo->n_signals; f++)
        if (!isfinite(o->seconds[f]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.seconds",
                                      "signal %u's seconds is not finite", f);
    if (o->ensemble_size < 1 || o->ensemble_size > RECO_SIM_MAX_ENSEMBLE)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.ensemble",
                                  "%u feedback models is out of range [1, %d]",
                                  o->ensemble_size, RECO_SIM_MAX_ENSEMBLE);
    if (o->ensemble_size > 1 && o->ensemble == NULL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.ensemble",
                                  "an ensemble of %u feedback models, but the other %u models "
                                  "(reco_sim_options.ensemble) are NULL", o->ensemble_size,
                                  o->ensemble_size - 1);
    if (!(o->pessimism >= 0.0f) || !isfinite(o->pessimism))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.pessimism",
                                  "%g is not a finite number >= 0", (double)o->pessimism);
    if (o->pessimism > 0.0f && o->ensemble_size < 2)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.pessimism",
                                  "%g weighs the disagreement of an ensemble, but there is one "
                                  "feedback model (set sim.ensemble to 2 or more)",
                                  (double)o->pessimism);
    for (uint32_t k = 1; k < o->ensemble_size; k++) {
        if (o->ensemble[k - 1] == NULL)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.ensemble",
                                      "ensemble model %u is NULL", k);
        reco_model_options ko = RECO_MODEL_OPTIONS_INIT;
        reco_model_get_options(&ko, o->ensemble[k - 1]);
        if (ko.n_items != mo->n_items || ko.n_signals != mo->n_signals ||
            ko.lookback != mo->lookback || ko.user_dim != mo->user_dim ||
            ko.long_len != mo->long_len)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.ensemble",
                                      "ensemble model %u has %u items, %u signals, lookback "
                                      "%u, user_dim %u, long_len %u; the simulator's model %u, "
                                      "%u, %u, %u, %u", k, ko.n_items, ko.n_signals,
                                      ko.lookback, ko.user_dim, ko.long_len, mo->n_items,
                                      mo->n_signals, mo->lookback, mo->user_dim, mo->long_len);
    }
    if (o->item_penalty != NULL)
        for (uint32_t i = 0; i < mo->n_items; i++)
            if (!isfinite(o->item_penalty[i]))
                return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.item_penalty",
                                          "item %u's penalty is not finite", i);
    for (uint32_t f = 0; f < mo->n_signals; f++) {
        if (!isfinite(o->reward[f]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.reward",
                                      "weight %u is not finite", f);
        if (o->parent[f] != -1 && (o->parent[f] < 0 || (uint32_t)o->parent[f] >= f))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.parent",
                                      "signal %u depends on %d, which is not an earlier signal",
                                      f, o->parent[f]);
        if (o->parent[f] != -1 && o->parent_value[f] != 0 && o->parent_value[f] != 1)
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "sim.parent_value",
                                      "signal %u: %d is neither 0 nor 1", f,
                                      o->parent_value[f]);
    }
    return RECO_OK;
}

void reco_sim_free(reco_sim *sim)
{
    if (sim == NULL)
        return;
    reco_allocator a = sim->alloc;
    reco_workspace_free(sim->ws);
    for (size_t k = 1; k < RECO_SIM_MAX_ENSEMBLE; k++)
        reco_workspace_free(sim->ens_ws[k]);
    reco__free(&a, sim->ens_probs);
    reco__free(&a, sim->reward_pen);
    void *bufs[] = {sim->win_items, sim->win_fb, sim->feat, sim->user, sim->len,
                    sim->active, sim->resets, sim->rng, sim->b_items, sim->b_fb,
                    sim->b_feat, sim->b_shown, sim->b_logits, sim->probs, sim->taken,
                    sim->penalty, sim->elapsed, sim->long_items, sim->long_fb, sim->b_steps,
                    sim->b_elapsed, sim->b_long, sim->b_long_fb, sim->alias_prob, sim->alias};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        reco__free(&a, bufs[i]);
    if (sim->has_src)
        reco__states_free(&sim->src);
    reco__free(&a, sim);
    reco__handle_release();
}

int reco_sim_create(reco_sim **out, const reco_model *model, const reco_sim_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim_create: out is NULL");
    *out = NULL;
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim_create: model is NULL");
    reco_sim_options o = RECO_SIM_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_SIM_OPTIONS_VERSION,
                                     "reco_sim_options");
        if (rc < 0)
            return rc;
        /* an older struct ends earlier: copy its fields only, the rest keep their defaults */
        memcpy(&o, opts, opts->version >= 5   ? sizeof o
                         : opts->version == 4 ? offsetof(reco_sim_options, ensemble)
                         : opts->version == 3 ? offsetof(reco_sim_options, imitate)
                         : opts->version == 2 ? offsetof(reco_sim_options, seconds_base)
                                              : offsetof(reco_sim_options, exclude_seen));
        o.version = RECO_SIM_OPTIONS_VERSION;
    }
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    reco_model_get_options(&mo, model);
    int rc = validate(&o, &mo);
    if (rc < 0 || (o.imitate != NULL && (rc = validate_imitate(&o, &mo)) < 0))
        return rc;
    reco_allocator a;
    if ((rc = reco__allocator_resolve(&a, o.allocator)) < 0)
        return rc;
    reco_sim *s = reco__calloc(&a, 1, sizeof *s);
    if (s == NULL)
        return RECO_ENOMEM;
    reco__handle_acquire(); /* balanced by reco_sim_free, also on the failure path below */
    s->alloc = a;
    s->o = o;
    s->o.allocator = NULL;
    s->model = model;
    s->N = mo.n_items;
    s->F = mo.n_signals;
    s->L = mo.lookback;
    s->U = mo.user_dim;
    s->S = o.max_sessions;
    s->C = o.n_candidates;
    s->max_batch = mo.max_batch;
    for (uint32_t k = 1; k < o.ensemble_size; k++) { /* a chunk fits every model */
        reco_model_options ko = RECO_MODEL_OPTIONS_INIT;
        reco_model_get_options(&ko, o.ensemble[k - 1]);
        if (ko.max_batch < s->max_batch)
            s->max_batch = ko.max_batch;
    }
    s->H = mo.long_len;
    const size_t S = s->S, L = s->L, U = s->U, F1 = s->F + 1, MB = s->max_batch, H = s->H;
    s->win_items = reco__calloc(&a, S * L, sizeof(int32_t));
    s->win_fb = reco__calloc(&a, S * L, sizeof(uint32_t));
    s->feat = reco__calloc(&a, S * U + 1, sizeof(float));
    s->user = reco__calloc(&a, S, sizeof(uint64_t));
    s->len = reco__calloc(&a, S, sizeof(uint32_t));
    s->active = reco__calloc(&a, S, 1);
    s->resets = reco__calloc(&a, S, sizeof(uint64_t));
    s->rng = reco__calloc(&a, S, sizeof(reco_rng));
    s->b_items = reco__calloc(&a, MB * L, sizeof(int32_t));
    s->b_fb = reco__calloc(&a, MB * L, sizeof(uint32_t));
    s->b_feat = reco__calloc(&a, MB * U + 1, sizeof(float));
    s->b_shown = reco__calloc(&a, MB, sizeof(int32_t));
    s->b_logits = reco__calloc(&a, MB * F1, sizeof(float));
    s->probs = reco__calloc(&a, S * F1, sizeof(float));
    s->taken = reco__calloc(&a, (s->N + 63) / 64, sizeof(uint64_t));
    s->elapsed = reco__calloc(&a, S, sizeof(float));
    s->long_items = reco__calloc(&a, S * H + 1, sizeof(int32_t));
    s->long_fb = reco__calloc(&a, S * H + 1, sizeof(uint32_t));
    s->b_steps = reco__calloc(&a, MB, sizeof(uint32_t));
    s->b_elapsed = reco__calloc(&a, MB, sizeof(float));
    s->b_long = reco__calloc(&a, MB * H + 1, sizeof(int32_t));
    s->b_long_fb = reco__calloc(&a, MB * H + 1, sizeof(uint32_t));
    if (s->win_items == NULL || s->win_fb == NULL || s->feat == NULL || s->user == NULL ||
        s->len == NULL || s->active == NULL || s->resets == NULL || s->rng == NULL ||
        s->b_items == NULL || s->b_fb == NULL || s->b_feat == NULL || s->b_shown == NULL ||
        s->b_logits == NULL || s->probs == NULL || s->taken == NULL || s->elapsed == NULL ||
        s->long_items == NULL || s->long_fb == NULL || s->b_steps == NULL ||
        s->b_elapsed == NULL || s->b_long == NULL || s->b_long_fb == NULL ||
        (rc = reco_workspace_create(&s->ws, model)) < 0) {
        reco_sim_free(s);
        return RECO_ENOMEM;
    }
    s->K = o.ensemble_size;
    s->ens[0] = model;
    if (s->K > 1) {
        s->ens_probs = reco__calloc(&a, s->K * MB * F1, sizeof(float));
        s->reward_pen = reco__calloc(&a, S, sizeof(float));
        rc = s->ens_probs == NULL || s->reward_pen == NULL ? RECO_ENOMEM : RECO_OK;
        for (size_t k = 1; k < s->K && rc == RECO_OK; k++) {
            s->ens[k] = o.ensemble[k - 1];
            rc = reco_workspace_create(&s->ens_ws[k], s->ens[k]);
        }
        if (rc < 0) {
            reco_sim_free(s);
            return RECO_ENOMEM;
        }
    }
    s->o.ensemble = NULL; /* the caller's array is not kept */
    s->o.item_penalty = NULL; /* the caller's array is not kept */
    if (o.imitate != NULL && o.imitate->version >= 4 && o.imitate->signal_names != NULL) {
        for (size_t f = 0; f < s->F; f++) {
            snprintf(s->names[f], sizeof s->names[f], "%s", o.imitate->signal_names[f]);
            s->name_ptrs[f] = s->names[f];
        }
        s->has_names = 1;
    }
    s->o.imitate = NULL; /* read at creation only */
    s->o.candidate_weights = NULL;
    if (o.candidate_weights != NULL && o.candidate_weight_share > 0.0f) {
        /* the alias table of the normalised weights; the work lists borrow the window
         * buffers' size (N floats and 2 N indices, freed at once) */
        const size_t N = s->N;
        s->alias_prob = reco__alloc(&a, N * sizeof(float), 0);
        s->alias = reco__alloc(&a, N * sizeof(uint32_t), 0);
        float *p = reco__alloc(&a, N * sizeof(float), 0);
        uint32_t *work = reco__alloc(&a, 2 * N * sizeof(uint32_t), 0);
        if (s->alias_prob == NULL || s->alias == NULL || p == NULL || work == NULL) {
            reco__free(&a, p);
            reco__free(&a, work);
            reco_sim_free(s);
            return RECO_ENOMEM;
        }
        double sum = 0.0;
        for (size_t i = 0; i < N; i++)
            sum += o.candidate_weights[i];
        for (size_t i = 0; i < N; i++)
            p[i] = (float)(o.candidate_weights[i] / sum);
        reco__alias_build(s->alias_prob, s->alias, p, (uint32_t)N, work, work + N);
        reco__free(&a, p);
        reco__free(&a, work);
        s->n_weighted = (uint32_t)lround((double)s->C * o.candidate_weight_share);
    }
    if (o.item_penalty != NULL) {
        s->penalty = reco__calloc(&a, s->N, sizeof(float));
        if (s->penalty == NULL) {
            reco_sim_free(s);
            return RECO_ENOMEM;
        }
        memcpy(s->penalty, o.item_penalty, s->N * sizeof(float));
    }
    for (size_t i = 0; i < S * L; i++)
        s->win_items[i] = RECO_PAD;
    for (size_t i = 0; i < S * H; i++)
        s->long_items[i] = RECO_PAD;
    *out = s;
    return RECO_OK;
}

int reco_sim_reset(reco_sim *sim)
{
    if (sim == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim_reset: sim is NULL");
    const size_t S = sim->S;
    for (size_t i = 0; i < S * sim->L; i++) {
        sim->win_items[i] = RECO_PAD;
        sim->win_fb[i] = 0;
    }
    memset(sim->feat, 0, (S * sim->U + 1) * sizeof(float));
    memset(sim->elapsed, 0, S * sizeof(float));
    for (size_t i = 0; i < S * sim->H; i++) {
        sim->long_items[i] = RECO_PAD;
        sim->long_fb[i] = 0;
    }
    memset(sim->user, 0, S * sizeof(uint64_t));
    memset(sim->len, 0, S * sizeof(uint32_t));
    memset(sim->active, 0, S);
    /* the reset counts seed the slots' streams: back to 0, the streams replay */
    memset(sim->resets, 0, S * sizeof(uint64_t));
    memset(sim->rng, 0, S * sizeof(reco_rng));
    return RECO_OK;
}

int reco_sim_set_start_env(reco_sim *sim, const reco_env *source)
{
    if (sim == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim_set_start_env: sim is NULL");
    if (source != NULL) {
        if (source->version < 1 || source->version > RECO_ENV_VERSION || source->reset == NULL ||
            source->observe == NULL)
            return reco__error_set(RECO_EINVAL, "reco_sim_set_start_env: the source is not a "
                                   "valid reco_env (version or callbacks)");
        if (source->max_sessions < sim->S || source->n_items != sim->N ||
            source->lookback != sim->L || source->user_dim != sim->U)
            return reco__error_set(RECO_EINVAL,
                                   "reco_sim_set_start_env: the source has %u slots, %u items, "
                                   "lookback %u, user_dim %u; the simulator needs >= %zu slots, "
                                   "%zu items, lookback %zu, user_dim %zu", source->max_sessions,
                                   source->n_items, source->lookback, source->user_dim, sim->S,
                                   sim->N, sim->L, sim->U);
        if (sim->H > 0 && reco__env_long_len(source) < sim->H)
            return reco__error_set(RECO_EINVAL, "reco_sim_set_start_env: the model's long-term "
                                   "history has %zu slots; the source gives %u", sim->H,
                                   reco__env_long_len(source));
    }
    /* buffers to read the source's states, sized for it */
    reco__states fresh;
    int have = 0;
    if (source != NULL) {
        int rc = reco__states_init(&fresh, &sim->alloc, source, sim->max_batch);
        if (rc < 0)
            return rc;
        have = 1;
    }
    if (sim->has_src)
        reco__states_free(&sim->src);
    sim->has_src = have;
    if (have)
        sim->src = fresh;
    sim->start = source;
    return RECO_OK;
}

static int check_slots(const reco_sim *s, const uint32_t *slots, uint32_t n, int need_active,
                       const char *fn)
{
    if (slots == NULL)
        return reco__error_set(RECO_EINVAL, "%s: slots is NULL", fn);
    if (n == 0 || n > s->S)
        return reco__error_set(RECO_EINVAL, "%s: n = %u is not in [1, %zu]", fn, n, s->S);
    for (uint32_t i = 0; i < n; i++) {
        if (slots[i] >= s->S)
            return reco__error_set(RECO_EINVAL, "%s: slot %u (entry %u) is not in [0, %zu)", fn,
                                   slots[i], i, s->S);
        if (need_active && !s->active[slots[i]])
            return reco__error_set(RECO_ESTATE, "%s: slot %u has no running session (reset it "
                                   "first)", fn, slots[i]);
    }
    return RECO_OK;
}

static int sim_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *payload)
{
    uint64_t cb_gen = 0; /* reco__error_generation() before each callback */
    reco_sim *s = payload;
    int rc = check_slots(s, slots, n, 0, "reco_sim reset");
    if (rc < 0)
        return rc;
    if (users == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim reset: users is NULL");
    if (s->start != NULL) {
        /* Histories from the source env, fetched in chunks: its window, user features and
         * (the newest H of) its long-term history. */
        reco__states *src = &s->src;
        for (uint32_t i0 = 0; i0 < n; i0 += (uint32_t)s->max_batch) {
            const uint32_t k = n - i0 < s->max_batch ? n - i0 : (uint32_t)s->max_batch;
            if ((rc = RECO__CALLBACK(
                     cb_gen, "the start env's reset()",
                     s->start->reset(slots + i0, users + i0, k, s->start->payload))) < 0 ||
                (rc = reco__states_observe(src, s->start, slots + i0, k, NULL)) < 0)
                return rc;
            for (uint32_t j = 0; j < k; j++) {
                const size_t sl = slots[i0 + j];
                memcpy(s->win_items + sl * s->L, src->items + (size_t)j * s->L,
                       s->L * sizeof(int32_t));
                memcpy(s->win_fb + sl * s->L, src->fb + (size_t)j * s->L,
                       s->L * sizeof(uint32_t));
                if (s->U > 0)
                    memcpy(s->feat + sl * s->U, src->feat + (size_t)j * s->U,
                           s->U * sizeof(float));
                if (s->H > 0) {
                    const size_t off = (size_t)j * src->H + (src->H - s->H);
                    memcpy(s->long_items + sl * s->H, src->long_items + off,
                           s->H * sizeof(int32_t));
                    memcpy(s->long_fb + sl * s->H, src->long_fb + off, s->H * sizeof(uint32_t));
                }
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const size_t sl = slots[i];
        if (s->start == NULL) {
            for (size_t t = 0; t < s->L; t++) {
                s->win_items[sl * s->L + t] = RECO_PAD;
                s->win_fb[sl * s->L + t] = 0;
            }
            if (s->U > 0)
                memset(s->feat + sl * s->U, 0, s->U * sizeof(float));
            for (size_t t = 0; t < s->H; t++) {
                s->long_items[sl * s->H + t] = RECO_PAD;
                s->long_fb[sl * s->H + t] = 0;
            }
        }
        s->elapsed[sl] = 0.0f;
        s->user[sl] = users[i];
        s->len[sl] = 0;
        s->active[sl] = 1;
        reco_rng_seed(&s->rng[sl], s->o.seed ^ (0x9E3779B97F4A7C15ULL * (s->resets[sl] + 1)),
                      users[i]);
        s->resets[sl]++;
    }
    return RECO_OK;
}

static int sim_observe(int32_t *items_out, uint32_t *feedback_out, float *features_out,
                       const uint32_t *slots, uint32_t n, void *payload)
{
    reco_sim *s = payload;
    int rc = check_slots(s, slots, n, 0, "reco_sim observe");
    if (rc < 0)
        return rc;
    if (items_out == NULL || feedback_out == NULL || (s->U > 0 && features_out == NULL))
        return reco__error_set(RECO_EINVAL, "reco_sim observe: NULL output");
    for (uint32_t i = 0; i < n; i++) {
        const size_t sl = slots[i];
        memcpy(items_out + (size_t)i * s->L, s->win_items + sl * s->L, s->L * sizeof(int32_t));
        memcpy(feedback_out + (size_t)i * s->L, s->win_fb + sl * s->L, s->L * sizeof(uint32_t));
        if (s->U > 0)
            memcpy(features_out + (size_t)i * s->U, s->feat + sl * s->U, s->U * sizeof(float));
    }
    return RECO_OK;
}

static int sim_candidates(int32_t *items_out, uint32_t *count_out, uint32_t max_candidates,
                          const uint32_t *slots, uint32_t n, void *payload)
{
    reco_sim *s = payload;
    int rc = check_slots(s, slots, n, 1, "reco_sim candidates");
    if (rc < 0)
        return rc;
    if (items_out == NULL || count_out == NULL || max_candidates == 0)
        return reco__error_set(RECO_EINVAL, "reco_sim candidates: NULL output or "
                               "max_candidates 0");
    const uint32_t k = (uint32_t)(s->C < max_candidates ? s->C : max_candidates);
    for (uint32_t i = 0; i < n; i++) {
        int32_t *dst = items_out + (size_t)i * max_candidates;
        reco_rng *rng = &s->rng[slots[i]];
        const int32_t *win = s->win_items + (size_t)slots[i] * s->L;
        if (s->o.exclude_seen) /* the window's items count as drawn */
            for (size_t t = 0; t < s->L; t++)
                if (win[t] >= 0)
                    s->taken[(uint64_t)win[t] >> 6] |= 1ULL << ((uint64_t)win[t] & 63);
        if (s->n_weighted > 0) {
            /* the retrieval stage: a share by weight, the rest uniform, all distinct */
            const uint32_t nw = s->n_weighted < k ? s->n_weighted : k;
            for (uint32_t j = 0; j < k;) {
                uint64_t it = 0;
                int fresh = 0;
                for (int tries = j < nw ? 32 : 0; tries > 0 && !fresh; tries--) {
                    it = reco__alias_draw(rng, s->alias_prob, s->alias, (uint32_t)s->N);
                    fresh = !(s->taken[it >> 6] & (1ULL << (it & 63)));
                }
                while (!fresh) {
                    it = reco_rng_below(rng, s->N);
                    fresh = !(s->taken[it >> 6] & (1ULL << (it & 63)));
                }
                s->taken[it >> 6] |= 1ULL << (it & 63);
                dst[j++] = (int32_t)it;
            }
            for (uint32_t j = 0; j < k; j++)
                s->taken[(uint64_t)dst[j] >> 6] = 0;
            if (s->o.exclude_seen)
                for (size_t t = 0; t < s->L; t++)
                    if (win[t] >= 0)
                        s->taken[(uint64_t)win[t] >> 6] = 0;
            for (uint32_t j = k; j > 1; j--) { /* Fisher-Yates: weighted ones not first */
                const uint32_t q = (uint32_t)reco_rng_below(rng, j);
                const int32_t t = dst[j - 1];
                dst[j - 1] = dst[q];
                dst[q] = t;
            }
        } else if ((uint64_t)k * 2 > s->N && !s->o.exclude_seen) {
            /* a large share of the catalog: a plain sample without replacement */
            reco_rng_sample((uint32_t *)(void *)dst, rng, (uint32_t)s->N, k);
        } else {
            /* k distinct items by rejection against a bitmap: O(k) expected, and a function
             * of the slot's stream alone (no state shared between slots) */
            for (uint32_t j = 0; j < k;) {
                const uint64_t it = reco_rng_below(rng, s->N);
                uint64_t *word = &s->taken[it >> 6];
                const uint64_t bit = 1ULL << (it & 63);
                if (*word & bit)
                    continue;
                *word |= bit;
                dst[j++] = (int32_t)it;
            }
            for (uint32_t j = 0; j < k; j++)
                s->taken[(uint64_t)dst[j] >> 6] = 0;
            if (s->o.exclude_seen)
                for (size_t t = 0; t < s->L; t++)
                    if (win[t] >= 0)
                        s->taken[(uint64_t)win[t] >> 6] = 0;
        }
        count_out[i] = k;
    }
    return RECO_OK;
}

static void sigmoids(float *p, const float *z, size_t n)
{
    for (size_t j = 0; j < n; j++)
        p[j] = z[j] >= 0 ? 1.0f / (1.0f + reco__expf(-z[j])) : reco__expf(z[j]) / (1.0f + reco__expf(z[j]));
}

/* Row j of the chunk's K probability rows as one (the formulas of sim.h): the mean of each
 * signal, the pessimistic exit, and the reward penalty. Sums in double, models in order: K
 * equal float rows give their value back exactly (K p and K p / K are exact in double), and a
 * disagreement of exactly 0. */
static void ensemble_combine(const reco_sim *s, float *out, float *reward_pen, size_t j)
{
    const size_t F = s->F, F1 = F + 1, K = s->K;
    double r[RECO_SIM_MAX_ENSEMBLE];
    for (size_t m = 0; m < K; m++) {
        const float *p = s->ens_probs + (m * s->max_batch + j) * F1;
        r[m] = 0.0;
        for (size_t f = 0; f < F; f++)
            r[m] += (double)s->o.reward[f] * p[f];
    }
    double spread[2] = {0.0, 0.0}; /* the reward's, then the exit's */
    for (size_t h = 0; h < F1; h++) {
        double sum = 0.0;
        for (size_t m = 0; m < K; m++)
            sum += s->ens_probs[(m * s->max_batch + j) * F1 + h];
        const double mean = sum / (double)K;
        out[h] = (float)mean;
        if (h == F)
            for (size_t m = 0; m < K; m++) {
                const double dv = s->ens_probs[(m * s->max_batch + j) * F1 + h] - mean;
                spread[1] += dv * dv;
            }
    }
    /* the rewards' spread about model 0's (shifted data): K equal rewards give exactly 0,
     * which a mean of K doubles (K r rounded) would not */
    double shift = 0.0;
    for (size_t m = 1; m < K; m++)
        shift += r[m] - r[0];
    shift /= (double)K;
    for (size_t m = 0; m < K; m++)
        spread[0] += (r[m] - r[0] - shift) * (r[m] - r[0] - shift);
    const double lambda = s->o.pessimism;
    const double u_r = sqrt(spread[0] / (double)K), u_exit = sqrt(spread[1] / (double)K);
    *reward_pen = (float)(lambda * u_r);
    if (lambda > 0.0)
        out[F] = (float)fmin(1.0, (double)out[F] + lambda * u_exit);
}

/* Logits of every signal head and the exit head for items[i] in slots[i], as probabilities
 * into s->probs (n, F + 1); with an ensemble, their combination and the reward penalties
 * into s->reward_pen (n). */
static int score_shown(reco_sim *s, const uint32_t *slots, const int32_t *items, uint32_t n,
                       const char *fn)
{
    if (items == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items is NULL", fn);
    for (uint32_t i = 0; i < n; i++)
        if (items[i] < 0 || (size_t)items[i] >= s->N)
            return reco__error_set(RECO_EINVAL, "%s: item %d (entry %u) is not in [0, %zu)", fn,
                                   items[i], i, s->N);
    const size_t F1 = s->F + 1, L = s->L, U = s->U;
    uint32_t heads[RECO_SIM_MAX_SIGNALS + 1];
    for (size_t h = 0; h < F1; h++)
        heads[h] = (uint32_t)h;
    for (uint32_t i0 = 0; i0 < n; i0 += (uint32_t)s->max_batch) {
        const uint32_t k = n - i0 < s->max_batch ? n - i0 : (uint32_t)s->max_batch;
        for (uint32_t j = 0; j < k; j++) {
            const size_t sl = slots[i0 + j];
            memcpy(s->b_items + (size_t)j * L, s->win_items + sl * L, L * sizeof(int32_t));
            memcpy(s->b_fb + (size_t)j * L, s->win_fb + sl * L, L * sizeof(uint32_t));
            if (U > 0)
                memcpy(s->b_feat + (size_t)j * U, s->feat + sl * U, U * sizeof(float));
            s->b_shown[j] = items[i0 + j];
            s->b_steps[j] = s->len[sl];
            s->b_elapsed[j] = s->elapsed[sl];
            memcpy(s->b_long + (size_t)j * s->H, s->long_items + sl * s->H,
                   s->H * sizeof(int32_t));
            memcpy(s->b_long_fb + (size_t)j * s->H, s->long_fb + sl * s->H,
                   s->H * sizeof(uint32_t));
        }
        reco_batch b = RECO_BATCH_INIT;
        b.size = k;
        b.items = s->b_items;
        b.feedback = s->b_fb;
        b.user_features = U > 0 ? s->b_feat : NULL;
        b.steps = s->b_steps;
        b.elapsed = s->b_elapsed;
        b.long_items = s->H > 0 ? s->b_long : NULL;
        b.long_feedback = s->H > 0 ? s->b_long_fb : NULL;
        b.n_candidates = 1;
        b.candidates = s->b_shown;
        b.shared_candidates = 0;
        if (s->K == 1) {
            int rc = reco_model_score(s->b_logits, s->model, s->ws, &b, heads, (uint32_t)F1);
            if (rc < 0)
                return rc;
            sigmoids(s->probs + (size_t)i0 * F1, s->b_logits, (size_t)k * F1);
            continue;
        }
        for (size_t m = 0; m < s->K; m++) {
            int rc = reco_model_score(s->b_logits, s->ens[m], m == 0 ? s->ws : s->ens_ws[m], &b,
                                      heads, (uint32_t)F1);
            if (rc < 0)
                return rc;
            sigmoids(s->ens_probs + m * s->max_batch * F1, s->b_logits, (size_t)k * F1);
        }
        for (uint32_t j = 0; j < k; j++)
            ensemble_combine(s, s->probs + (size_t)(i0 + j) * F1, &s->reward_pen[i0 + j], j);
    }
    return RECO_OK;
}

int reco_sim_probabilities(float *probs_out, reco_sim *sim, const uint32_t *slots,
                           const int32_t *items, uint32_t n)
{
    static const char fn[] = "reco_sim_probabilities";
    if (probs_out == NULL || sim == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    int rc = check_slots(sim, slots, n, 1, fn);
    if (rc < 0 || (rc = score_shown(sim, slots, items, n, fn)) < 0)
        return rc;
    memcpy(probs_out, sim->probs, (size_t)n * (sim->F + 1) * sizeof(float));
    return RECO_OK;
}

static int sim_step(uint32_t *feedback_out, float *reward_out, int *done_out,
                    const uint32_t *slots, const int32_t *items, uint32_t n, void *payload)
{
    static const char fn[] = "reco_sim step";
    reco_sim *s = payload;
    int rc = check_slots(s, slots, n, 1, fn);
    if (rc < 0)
        return rc;
    if (feedback_out == NULL || reward_out == NULL || done_out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL output", fn);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (slots[i] == slots[j])
                return reco__error_set(RECO_EINVAL, "%s: slot %u appears twice", fn, slots[i]);
    if ((rc = score_shown(s, slots, items, n, fn)) < 0)
        return rc;
    const size_t F = s->F, F1 = F + 1, L = s->L;
    for (uint32_t i = 0; i < n; i++) {
        const size_t sl = slots[i];
        const float *p = s->probs + (size_t)i * F1;
        reco_rng *rng = &s->rng[sl];
        uint32_t bits = 0;
        float reward = 0.0f;
        for (size_t f = 0; f < F; f++) {
            double q = p[f];
            const int32_t g = s->o.parent[f];
            if (g >= 0) {
                const uint32_t got = (bits >> g) & 1u;
                const double cond = s->o.parent_value[f] ? p[g] : 1.0 - (double)p[g];
                if (got != (uint32_t)s->o.parent_value[f] || cond <= 0.0)
                    q = 0.0;
                else
                    q = q / cond < 1.0 ? q / cond : 1.0;
            }
            /* one uniform per signal whatever the branch: streams stay aligned */
            const double u = reco_rng_uniform(rng);
            if (u < q) {
                bits |= 1u << f;
                reward += s->o.reward[f];
            }
        }
        if (s->o.expected_reward) {
            double er = 0.0;
            for (size_t f = 0; f < F; f++)
                er += (double)s->o.reward[f] * p[f];
            reward = (float)er;
        }
        if (s->penalty != NULL)
            reward -= s->penalty[items[i]];
        if (s->K > 1)
            reward -= s->reward_pen[i];
        const double u_exit = reco_rng_uniform(rng);
        double p_exit = p[F];
        double tilt = 0.0;
        for (size_t f = 0; f < F; f++)
            tilt += (double)s->o.exit_tilt[f] * ((double)((bits >> f) & 1u) - (double)p[f]);
        if (tilt != 0.0) {
            const double pe = fmin(fmax(p_exit, 1e-9), 1.0 - 1e-9);
            p_exit = 1.0 / (1.0 + reco__exp(-(reco__log(pe / (1.0 - pe)) + tilt)));
        }
        float secs = s->o.seconds_base;
        for (size_t f = 0; f < F; f++)
            if ((bits >> f) & 1u)
                secs += s->o.seconds[f];
        s->elapsed[sl] += secs > 0.0f ? secs : 0.0f;
        s->len[sl]++;
        const int done = u_exit < p_exit                        ? RECO_ENV_EXIT
                         : s->len[sl] >= s->o.max_session_len ? RECO_ENV_TRUNCATED
                                                               : RECO_ENV_CONTINUE;
        /* append the interaction: the window shifts left by one */
        memmove(s->win_items + sl * L, s->win_items + sl * L + 1, (L - 1) * sizeof(int32_t));
        memmove(s->win_fb + sl * L, s->win_fb + sl * L + 1, (L - 1) * sizeof(uint32_t));
        s->win_items[sl * L + L - 1] = items[i];
        s->win_fb[sl * L + L - 1] = bits;
        if (done)
            s->active[sl] = 0;
        feedback_out[i] = bits;
        reward_out[i] = reward;
        done_out[i] = done;
    }
    return RECO_OK;
}

/* ---- state save/load (reco_env version 2) ------------------------------------------------
 * "RSIM" format 2, little-endian like every libreco encoding (file.c refuses big-endian
 * hosts, so the arrays are copied as they are in memory):
 *   0 magic "RSIM" | 4 version u32 | 8 S u32 | 12 L u32 | 16 U u32 | 20 F u32 | 24 N u32 |
 *   28 max_session_len u32 | 32 seed u64 | 40 win_items i32[S L] | win_fb u32[S L] |
 *   feat f32[S U] | user u64[S] | len u32[S] | resets u64[S] | rng u64[4 S] | active u8[S] |
 *   (format 2) elapsed f32[S] | long_items i32[S H] | long_fb u32[S H] |
 *   CRC-32C u32 of every byte before it.
 * Format 1 (0.1) states still load (elapsed 0, the long-term history pads) into a
 * simulator whose model has no long-term history. The start environment
 * (reco_sim_set_start_env) is not part of the state. */

static const unsigned char sim_magic[4] = {'R', 'S', 'I', 'M'};
enum { SIM_STATE_VERSION = 2, SIM_STATE_HEADER = 40 };

static size_t sim_state_len_v(const reco_sim *s, uint32_t version)
{
    const size_t v1 = SIM_STATE_HEADER + s->S * (8 * s->L + 4 * s->U + 8 + 4 + 8 + 32 + 1) + 4;
    return version < 2 ? v1 : v1 + s->S * (4 + 8 * s->H);
}

static size_t sim_state_len(const reco_sim *s)
{
    return sim_state_len_v(s, SIM_STATE_VERSION);
}

static unsigned char *put_bytes(unsigned char *p, const void *src, size_t n)
{
    if (n > 0)
        memcpy(p, src, n);
    return p + n;
}

static const unsigned char *get_bytes(void *dst, const unsigned char *p, size_t n)
{
    if (n > 0)
        memcpy(dst, p, n);
    return p + n;
}

static void sim_header(uint32_t h[8], uint64_t *seed, const reco_sim *s)
{
    h[0] = 0; /* the magic, written separately */
    h[1] = SIM_STATE_VERSION;
    h[2] = (uint32_t)s->S;
    h[3] = (uint32_t)s->L;
    h[4] = (uint32_t)s->U;
    h[5] = (uint32_t)s->F;
    h[6] = (uint32_t)s->N;
    h[7] = s->o.max_session_len;
    *seed = s->o.seed;
}

static int sim_save_state(void *buf, size_t cap, size_t *len_out, void *payload)
{
    const reco_sim *s = payload;
    if (buf == NULL && len_out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim save_state: buf and len_out are NULL");
    const size_t len = sim_state_len(s), S = s->S, L = s->L, U = s->U;
    if (len_out != NULL)
        *len_out = len;
    if (buf == NULL)
        return RECO_OK;
    if (cap < len)
        return reco__error_set(RECO_EINVAL, "reco_sim save_state: buffer of %zu bytes, the "
                               "state needs %zu", cap, len);
    uint32_t h[8];
    uint64_t seed;
    sim_header(h, &seed, s);
    unsigned char *p = buf;
    p = put_bytes(p, h, sizeof h);
    memcpy(buf, sim_magic, 4);
    p = put_bytes(p, &seed, 8);
    p = put_bytes(p, s->win_items, S * L * 4);
    p = put_bytes(p, s->win_fb, S * L * 4);
    p = put_bytes(p, s->feat, S * U * 4);
    p = put_bytes(p, s->user, S * 8);
    p = put_bytes(p, s->len, S * 4);
    p = put_bytes(p, s->resets, S * 8);
    p = put_bytes(p, s->rng, S * sizeof(reco_rng));
    p = put_bytes(p, s->active, S);
    p = put_bytes(p, s->elapsed, S * 4);
    p = put_bytes(p, s->long_items, S * s->H * 4);
    p = put_bytes(p, s->long_fb, S * s->H * 4);
    const uint32_t crc = reco__crc32c(0, buf, len - 4);
    memcpy(p, &crc, 4);
    return RECO_OK;
}

static int sim_load_state(const void *buf, size_t len, void *payload)
{
    static const char fn[] = "reco_sim load_state";
    reco_sim *s = payload;
    if (buf == NULL)
        return reco__error_set(RECO_EINVAL, "%s: buf is NULL", fn);
    const unsigned char *p = buf;
    if (len < SIM_STATE_HEADER + 4 || memcmp(p, sim_magic, 4) != 0)
        return reco__error_set(RECO_EFORMAT, "%s: not a simulator state (%zu bytes)", fn, len);
    uint32_t crc;
    memcpy(&crc, p + len - 4, 4);
    if (crc != reco__crc32c(0, p, len - 4))
        return reco__error_set(RECO_EFORMAT, "%s: checksum mismatch (corrupted or truncated)",
                               fn);
    uint32_t h[8], want[8];
    uint64_t seed, want_seed;
    memcpy(h, p, sizeof h);
    memcpy(&seed, p + 32, 8);
    sim_header(want, &want_seed, s);
    static const char *const names[8] = {"", "format version", "max_sessions", "lookback",
                                         "user_dim", "n_signals", "n_items",
                                         "max_session_len"};
    const uint32_t version = h[1];
    if (version < 1 || version > SIM_STATE_VERSION || (version == 1 && s->H > 0))
        return reco__error_set(RECO_EVERSION, "%s: state format %u; this simulator reads "
                               "%s", fn, version, s->H > 0 ? "2" : "1..2");
    for (int i = 2; i < 8; i++)
        if (h[i] != want[i])
            return reco__error_set(RECO_EFORMAT, "%s: %s is %u in the state, %u in this "
                                   "simulator", fn, names[i], h[i], want[i]);
    if (seed != want_seed)
        return reco__error_set(RECO_EFORMAT, "%s: the state is of a simulator with another "
                               "seed", fn);
    if (len != sim_state_len_v(s, version))
        return reco__error_set(RECO_EFORMAT, "%s: %zu bytes, expected %zu", fn, len,
                               sim_state_len_v(s, version));
    const size_t S = s->S, L = s->L, U = s->U;
    const unsigned char *items = p + SIM_STATE_HEADER, *fb = items + S * L * 4;
    const unsigned char *lens = fb + S * L * 4 + S * U * 4 + S * 8;
    const unsigned char *rngs = lens + S * 4 + S * 8, *act = rngs + S * sizeof(reco_rng);
    for (size_t i = 0; i < S * L; i++) {
        int32_t it;
        uint32_t f;
        memcpy(&it, items + 4 * i, 4);
        memcpy(&f, fb + 4 * i, 4);
        if ((it < 0 && it != RECO_PAD) || (it >= 0 && (size_t)it >= s->N) || f >= 1u << 16)
            return reco__error_set(RECO_EFORMAT, "%s: window entry %zu is invalid", fn, i);
    }
    for (size_t i = 0; i < S; i++) {
        uint32_t n;
        uint64_t r[4];
        memcpy(&n, lens + 4 * i, 4);
        memcpy(r, rngs + i * sizeof(reco_rng), sizeof r);
        if (act[i] > 1 || n > s->o.max_session_len || (act[i] && (r[0] | r[1] | r[2] | r[3]) == 0))
            return reco__error_set(RECO_EFORMAT, "%s: slot %zu is invalid", fn, i);
    }
    const unsigned char *el = act + S, *li = el + S * 4, *lf = li + S * s->H * 4;
    for (size_t i = 0; version >= 2 && i < S; i++) {
        float e;
        memcpy(&e, el + 4 * i, 4);
        if (!(e >= 0.0f) || !isfinite(e))
            return reco__error_set(RECO_EFORMAT, "%s: slot %zu's elapsed time is invalid", fn,
                                   i);
    }
    for (size_t i = 0; version >= 2 && i < S * s->H; i++) {
        int32_t it;
        uint32_t f;
        memcpy(&it, li + 4 * i, 4);
        memcpy(&f, lf + 4 * i, 4);
        if ((it < 0 && it != RECO_PAD) || (it >= 0 && (size_t)it >= s->N) || f >= 1u << 16)
            return reco__error_set(RECO_EFORMAT, "%s: long-term entry %zu is invalid", fn, i);
    }
    /* everything checked: now write */
    p += SIM_STATE_HEADER;
    p = get_bytes(s->win_items, p, S * L * 4);
    p = get_bytes(s->win_fb, p, S * L * 4);
    p = get_bytes(s->feat, p, S * U * 4);
    p = get_bytes(s->user, p, S * 8);
    p = get_bytes(s->len, p, S * 4);
    p = get_bytes(s->resets, p, S * 8);
    p = get_bytes(s->rng, p, S * sizeof(reco_rng));
    p = get_bytes(s->active, p, S);
    if (version >= 2) {
        p = get_bytes(s->elapsed, p, S * 4);
        p = get_bytes(s->long_items, p, S * s->H * 4);
        (void)get_bytes(s->long_fb, p, S * s->H * 4);
    } else {
        memset(s->elapsed, 0, S * 4);
    }
    return RECO_OK;
}

static int sim_context(uint32_t *steps_out, float *elapsed_out, int32_t *long_items_out,
                       uint32_t *long_feedback_out, const uint32_t *slots, uint32_t n,
                       void *payload)
{
    reco_sim *s = payload;
    int rc = check_slots(s, slots, n, 0, "reco_sim context");
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        const size_t sl = slots[i];
        if (steps_out != NULL)
            steps_out[i] = s->len[sl];
        if (elapsed_out != NULL)
            elapsed_out[i] = s->elapsed[sl];
        if (long_items_out != NULL)
            memcpy(long_items_out + (size_t)i * s->H, s->long_items + sl * s->H,
                   s->H * sizeof(int32_t));
        if (long_feedback_out != NULL)
            memcpy(long_feedback_out + (size_t)i * s->H, s->long_fb + sl * s->H,
                   s->H * sizeof(uint32_t));
    }
    return RECO_OK;
}

static int sim_probabilities(float *probs_out, const uint32_t *slots, const int32_t *items,
                             uint32_t n, void *payload)
{
    return reco_sim_probabilities(probs_out, payload, slots, items, n);
}

int reco_sim_env(reco_env *out, reco_sim *sim)
{
    if (out == NULL || sim == NULL)
        return reco__error_set(RECO_EINVAL, "reco_sim_env: NULL argument");
    memset(out, 0, sizeof *out);
    out->version = RECO_ENV_VERSION;
    out->n_items = (uint32_t)sim->N;
    out->n_signals = (uint32_t)sim->F;
    out->lookback = (uint32_t)sim->L;
    out->user_dim = (uint32_t)sim->U;
    out->max_sessions = (uint32_t)sim->S;
    out->reset = sim_reset;
    out->observe = sim_observe;
    out->candidates = sim_candidates;
    out->step = sim_step;
    out->payload = sim;
    out->save_state = sim_save_state;
    out->load_state = sim_load_state;
    out->long_len = (uint32_t)sim->H;
    out->context = sim_context;
    out->probabilities = sim_probabilities;
    out->signal_names = sim->has_names ? sim->name_ptrs : NULL;
    out->reward_weights = sim->o.reward;
    out->max_candidates = (uint32_t)sim->C;
    out->max_steps = sim->o.max_session_len;
    return RECO_OK;
}
