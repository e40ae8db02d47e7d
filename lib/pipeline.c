/* reco_pipeline: the whole RecoMind experiment (logs -> fit -> simulator -> training ->
 * evaluation) as one library call, on the built-in world, on any reco_env, or on a user's own
 * logs (see include/reco/pipeline.h and docs/pipeline.md).
 *
 * One seed is one job (run_seed(), run_seed_logs()); seeds run in waves of
 * experiment.threads threads, each with its own objects, and each job keeps its error message
 * (error details are per thread) until the calling thread reports it. The world path is the
 * 0.1 recomind example's run, moved here step for step: the same seeds, the same order of
 * random draws, so the same numbers. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "config_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "env_mix_private.h"
#include "eval_private.h"
#include "file_private.h"
#include "policy_private.h"
#include "state_private.h"
#include "reco/pipeline.h"
#include "reco/ope.h"
#include "reco/explorer.h"
#include "reco/policy.h"
#include "reco/qnet.h"
#include "reco/replay.h"
#include "reco/sim.h"
#include "reco/trainer.h"
#include "reco/world.h"

enum { N_POL = RECO_PIPELINE_N_POLICIES, BASELINE = RECO_PIPELINE_BASELINE,
       RECOMIND = RECO_PIPELINE_RECOMIND, WARM = RECO_PIPELINE_WARM_START,
       MAX_CURVE = 64, MAX_ENSEMBLE = RECO_PIPELINE_MAX_ENSEMBLE,
       MAX_SIG = RECO_PIPELINE_MAX_SIGNALS, MAX_OUT = MAX_SIG + 1 };

/* warm-start comes last: the policies before it keep their random streams (each policy is
 * played after the same reset; the random policy's stream runs on from the simulator's
 * evaluation to the world's, and nothing between them draws from it) */
static const char *const pol_names[N_POL] = {"random", "popular", "greedy-supervised",
                                              "recomind", "warm-start"};

/* What the pipeline runs on. */
_Static_assert(RECO__ENV_MIX_MAX == RECO_PIPELINE_MAX_ENSEMBLE, "one ensemble size");

enum { SRC_WORLD = 0, SRC_ENV = 1, SRC_LOGS = 2 };

/* ---- small utilities ------------------------------------------------------------------- */

static uint64_t world_key(uint64_t user, uint64_t ordinal, void *payload)
{
    (void)payload;
    return RECO_WORLD_SESSION_KEY(user, ordinal);
}

/* A growing text buffer for the reports and the error messages of a job. */
typedef struct tbuf {
    const reco_allocator *a;
    char *s;
    size_t len, cap;
    int err;
} tbuf;

static void tb_printf(tbuf *t, const char *fmt, ...) RECO__PRINTF(2, 3);
static void tb_printf(tbuf *t, const char *fmt, ...)
{
    if (t->err)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        const int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt,
                                ap);
        va_end(ap);
        if (n < 0) {
            t->err = RECO_ERROR;
            return;
        }
        if (t->s != NULL && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *ns = reco__alloc(t->a, cap, 0);
        if (ns == NULL) {
            t->err = RECO_ENOMEM;
            return;
        }
        if (t->len)
            memcpy(ns, t->s, t->len);
        reco__free(t->a, t->s);
        t->s = ns;
        t->cap = cap;
    }
}

static void tb_free(tbuf *t)
{
    reco__free(t->a, t->s);
    t->s = NULL;
    t->len = t->cap = 0;
}

/* ---- the result ------------------------------------------------------------------------- */

typedef struct seed_job {
    /* inputs */
    struct run_ctx *run;
    uint64_t seed;
    uint32_t index;
    /* outputs */
    reco_eval *ev[2]; /* sim, real */
    reco_pipeline_point curve[MAX_CURVE];
    double heldout_curve[MAX_CURVE]; /* the held-out simulator's greedy-Q return, or NaN */
    uint32_t n_curve;
    uint64_t trained, kept;          /* updates run; the kept snapshot's updates */
    double greedy_sim_return; /* on the curve sessions */
    double cal_model[4][MAX_OUT], cal_true[4][MAX_OUT];
    uint32_t have_cal;
    reco_fit_report fit;         /* the feedback model's fit */
    reco_fit_report heldout_fit; /* the held-out model's (n_outputs 0 without one) */
    reco_qnet *qnet;             /* the trained Q-network */
    reco_model *best;            /* select_heldout: the kept snapshot (its weights) */
    /* logs: the held-out users' own sessions */
    reco_eval_stat logged_return, logged_depth;
    /* off-policy estimates of each policy from a log of the logging policy (have_ope) */
    reco_ope_result ope[RECO_PIPELINE_N_POLICIES];
    uint64_t ope_rows;
    int have_ope;
    int rc;
    char err[1024];
} seed_job;

struct reco_pipeline {
    reco_allocator alloc;
    int source;
    int fit_only;
    uint32_t n_seeds;
    seed_job *jobs;
    reco_eval *pooled[2];
    char side_name[2][48];
    uint32_t n_signals;
    char out_names[MAX_OUT][RECO_LOG_SIGNAL_NAME_MAX + 1];
};

/* ---- the environment's facts: what it declares, or what the logs and config say ---------- */

typedef struct facts {
    int source;
    char name[48];            /* "world", the env's name, "held-out sim" */
    char who[64];             /* how messages name the source: "world", "the environment" */
    uint32_t n_items, n_signals, lookback, user_dim, long_len, max_sessions;
    uint32_t candidates, cap; /* effective */
    int has_candidates, has_cap, has_reward; /* declared by the env */
    int has_context;          /* the source gives the session context (context()) */
    float reward[MAX_SIG];    /* effective */
    char names[MAX_SIG][RECO_LOG_SIGNAL_NAME_MAX + 1];
    int carry_history;        /* world */
    uint32_t n_users;         /* world's users */
    int logged_eval;          /* effective eval users */
    int bootstrap_uniform;    /* effective bootstrap rule */
    uint32_t items_rows;      /* logs: rows of the item table, or 0 */
} facts;

static const float default_reward[RECO_N_SIGNALS_DEFAULT] = {0.1f, 1.0f, 0.3f, -0.5f};
static const char *const default_names[RECO_N_SIGNALS_DEFAULT] = {"click", "long_watch", "like",
                                                                  "hide"};

/* Opens a copy of a user's env through its factory, with the callback's message kept. */
static int open_env(reco_env *out, const reco_pipeline_env *pe)
{
    memset(out, 0, sizeof *out);
    uint64_t gen;
    int rc = RECO__CALLBACK(gen, "the pipeline env's open()", pe->open(out, pe->payload));
    if (rc < 0)
        return rc;
    rc = reco_env_check(out);
    if (rc == RECO_OK && out->version < 4)
        rc = reco__error_set(RECO_EINVAL, "the pipeline's environment is a version-%u "
                             "reco_env: it must be version 4 (it declares its signals)",
                             out->version);
    if (rc < 0 && pe->close != NULL)
        pe->close(out, pe->payload);
    return rc;
}

static void close_env(const reco_env *env, const reco_pipeline_env *pe)
{
    if (pe != NULL && pe->close != NULL)
        pe->close(env, pe->payload);
}

static int check_run_options(reco_pipeline_run_options *o, const reco_pipeline_run_options *in)
{
    *o = (reco_pipeline_run_options)RECO_PIPELINE_RUN_OPTIONS_INIT;
    if (in == NULL)
        return RECO_OK;
    int rc = reco__check_version(in->version, RECO_PIPELINE_RUN_OPTIONS_VERSION,
                                 "reco_pipeline_run_options");
    if (rc < 0)
        return rc;
    *o = *in;
    if (o->env != NULL && o->log != NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run_options: both an env and logs "
                               "are given; the pipeline runs on one of them");
    if (o->env != NULL) {
        rc = reco__check_version(o->env->version, RECO_PIPELINE_ENV_VERSION,
                                 "reco_pipeline_env");
        if (rc < 0)
            return rc;
        if (o->env->open == NULL)
            return reco__error_set(RECO_EINVAL, "reco_pipeline_env: open is NULL");
        const char *nm = o->env->name;
        if (nm != NULL) {
            const size_t n = strlen(nm);
            int ok = n >= 1 && n <= 32;
            for (size_t i = 0; ok && i < n; i++)
                ok = (nm[i] >= 'a' && nm[i] <= 'z') || (nm[i] >= '0' && nm[i] <= '9') ||
                     nm[i] == '_' || nm[i] == '-';
            if (!ok)
                return reco__error_set(RECO_EINVAL, "reco_pipeline_env: name \"%s\" is not "
                                       "1..32 bytes of [a-z0-9_-]", nm);
        }
    }
    if (o->ensemble < 1 || o->ensemble > MAX_ENSEMBLE)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run_options: ensemble %u is not in "
                               "1..%d", o->ensemble, MAX_ENSEMBLE);
    if (o->without >> 6)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run_options: without has unknown "
                               "bits 0x%x", o->without & ~0x3fu);
    if ((o->without & RECO_PIPELINE_WITHOUT_USER) && !o->fit_only)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run_options: without the user "
                               "features (RECO_PIPELINE_WITHOUT_USER) goes with fit_only: the "
                               "simulator starts each session from the environment's state, "
                               "which has them");
    if (o->log != NULL && (o->select_heldout || o->eval_heldout))
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run_options: %s does not apply to "
                               "a run on logs (it always evaluates in the held-out "
                               "simulator)", o->select_heldout ? "select_heldout"
                                                               : "eval_heldout");
    if (o->log == NULL && o->env == NULL && o->items != NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run_options: items are given for "
                               "the built-in world, whose own item features are used");
    return RECO_OK;
}

/* The largest item id of a log plus one. */
static uint32_t log_items(const reco_log *log)
{
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    if (reco_log_get_columns(&c, log) < 0)
        return 0;
    int32_t mx = -1;
    for (size_t r = 0; r < c.n_rows; r++)
        if (c.items[r] > mx)
            mx = c.items[r];
    return (uint32_t)(mx + 1);
}

/* Fills `f` from the configuration and the source (opening one copy of a user's env). */
static int get_facts(facts *f, const reco_config *cfg, const reco_pipeline_run_options *o)
{
    memset(f, 0, sizeof *f);
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    reco_pipeline_options pl = RECO_PIPELINE_OPTIONS_INIT;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    int rc = reco_config_get_experiment(&ex, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_pipeline(&pl, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_model(&mo, cfg);
    if (rc < 0)
        return rc;
    f->source = o->log ? SRC_LOGS : o->env ? SRC_ENV : SRC_WORLD;
    if (f->source == SRC_WORLD) {
        reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
        rc = reco_config_get_world(&wo, cfg);
        if (rc < 0)
            return rc;
        snprintf(f->name, sizeof f->name, "world");
        snprintf(f->who, sizeof f->who, "world");
        f->n_items = wo.n_items;
        f->n_signals = RECO_WORLD_N_SIGNALS;
        f->lookback = wo.lookback;
        f->user_dim = wo.user_features ? 3 + wo.n_topics : 0;
        f->long_len = wo.long_len;
        f->max_sessions = wo.max_sessions;
        f->candidates = wo.n_candidates;
        f->cap = wo.max_session_len;
        f->has_candidates = f->has_cap = f->has_reward = f->has_context = 1;
        f->reward[RECO_SIGNAL_CLICK] = (float)wo.reward_click;
        f->reward[RECO_SIGNAL_LONG_WATCH] = (float)wo.reward_long_watch;
        f->reward[RECO_SIGNAL_LIKE] = (float)wo.reward_like;
        f->reward[RECO_SIGNAL_HIDE] = (float)wo.reward_hide;
        for (uint32_t s = 0; s < RECO_WORLD_N_SIGNALS; s++)
            snprintf(f->names[s], sizeof f->names[s], "%s", default_names[s]);
        f->carry_history = wo.carry_history;
        f->n_users = wo.n_users;
        f->logged_eval = wo.carry_history;
        f->bootstrap_uniform = pl.bootstrap == RECO_PIPELINE_BOOTSTRAP_UNIFORM;
        return RECO_OK;
    }
    if (f->source == SRC_ENV) {
        reco_env env;
        rc = open_env(&env, o->env);
        if (rc < 0)
            return rc;
        snprintf(f->name, sizeof f->name, "%s", o->env->name ? o->env->name : "env");
        snprintf(f->who, sizeof f->who, "the environment");
        f->n_items = env.n_items;
        f->n_signals = env.n_signals;
        f->lookback = env.lookback;
        f->user_dim = env.user_dim;
        f->long_len = env.long_len;
        f->max_sessions = env.max_sessions;
        f->has_candidates = env.max_candidates > 0;
        f->candidates = f->has_candidates ? env.max_candidates : pl.candidates;
        f->has_cap = env.max_steps > 0;
        f->cap = f->has_cap ? env.max_steps : pl.session_cap;
        f->has_context = reco__env_has_context(&env);
        f->has_reward = env.reward_weights != NULL;
        for (uint32_t s = 0; s < env.n_signals && s < MAX_SIG; s++) {
            f->reward[s] = f->has_reward ? env.reward_weights[s]
                                         : s < pl.n_reward ? (float)pl.reward[s] : 0.0f;
            snprintf(f->names[s], sizeof f->names[s], "%s", reco_env_signal_name(&env, s));
        }
        close_env(&env, o->env);
        if (f->n_signals > MAX_SIG)
            return reco__error_set(RECO_EINVAL, "the environment has %u signals, more than "
                                   "the pipeline's %d", f->n_signals, MAX_SIG);
        f->logged_eval = pl.eval_users != RECO_PIPELINE_EVAL_USERS_NEW;
        f->bootstrap_uniform = 1;
        return RECO_OK;
    }
    /* the logs */
    snprintf(f->name, sizeof f->name, "held-out sim");
    snprintf(f->who, sizeof f->who, "the logs");
    f->n_signals = reco_log_n_signals(o->log);
    f->items_rows = o->items ? reco_items_n_items(o->items) : 0;
    f->n_items = o->items ? f->items_rows : log_items(o->log);
    f->lookback = pl.lookback;
    f->user_dim = reco_log_user_dim(o->log);
    f->long_len = mo.long_len;
    f->max_sessions = 256;
    f->candidates = pl.candidates;
    f->cap = pl.session_cap;
    int defaults = f->n_signals == RECO_N_SIGNALS_DEFAULT;
    for (uint32_t s = 0; s < f->n_signals && s < MAX_SIG; s++) {
        snprintf(f->names[s], sizeof f->names[s], "%s", reco_log_signal_name(o->log, s));
        defaults = defaults && strcmp(f->names[s], default_names[s]) == 0;
    }
    for (uint32_t s = 0; s < f->n_signals && s < MAX_SIG; s++)
        f->reward[s] = pl.n_reward > 0 ? (s < pl.n_reward ? (float)pl.reward[s] : 0.0f)
                                       : defaults ? default_reward[s] : 0.0f;
    f->logged_eval = 1;
    f->bootstrap_uniform = 1;
    return RECO_OK;
}

/* ---- the options the run derives or does not read ------------------------------------------ */

typedef struct keylist {
    reco_pipeline_key *k;
    uint32_t cap, n, refused;
    const reco_config *cfg;
    int rc;
    const char *not_read; /* reason for every leaf of a section */
} keylist;

/* Adds `path`; refused when given and `refuse_if_given`. */
static void key_add(keylist *kl, const char *path, int refuse_if_given, const char *fmt, ...)
    RECO__PRINTF(4, 5);
static void key_add(keylist *kl, const char *path, int refuse_if_given, const char *fmt, ...)
{
    reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
    if (kl->rc == RECO_OK)
        kl->rc = reco_config_get_origin(&o, kl->cfg, path);
    const int refused = refuse_if_given && o.kind != RECO_CONFIG_ORIGIN_DEFAULT;
    if (kl->n < kl->cap) {
        reco_pipeline_key *k = &kl->k[kl->n];
        k->path = path;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(k->why, sizeof k->why, fmt, ap);
        va_end(ap);
        k->refused = refused;
        k->origin = o;
    }
    kl->n++;
    kl->refused += (uint32_t)refused;
}

/* Paths of unused sections must outlive the call: they are interned in a static table. */
static const char *intern_path(const char *path)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static char paths[512][64];
    static uint32_t n;
    const char *r = NULL;
    pthread_mutex_lock(&mu);
    for (uint32_t i = 0; i < n && r == NULL; i++)
        if (strcmp(paths[i], path) == 0)
            r = paths[i];
    if (r == NULL && n < 512 && strlen(path) < 64) {
        snprintf(paths[n], sizeof paths[n], "%s", path);
        r = paths[n++];
    }
    pthread_mutex_unlock(&mu);
    return r;
}

/* 1 when the configuration gives `path`. */
static int key_given(keylist *kl, const char *path)
{
    reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
    if (kl->rc == RECO_OK)
        kl->rc = reco_config_get_origin(&o, kl->cfg, path);
    return o.kind != RECO_CONFIG_ORIGIN_DEFAULT;
}

/* A key whose given value must equal the source's `want`. */
static void key_agree(keylist *kl, const char *path, uint32_t given, uint32_t want,
                      const char *src)
{
    if (given != want && key_given(kl, path))
        key_add(kl, path, 1, "%u differs from %s = %u", given, src, want);
    else
        key_add(kl, path, 0, "derived from %s = %u", src, want);
}

static void leaf_not_read(const char *path, void *payload)
{
    keylist *kl = payload;
    const char *p = intern_path(path);
    if (p != NULL)
        key_add(kl, p, 1, "%s", kl->not_read);
}

static void fmt_list_f(char *buf, size_t cap, const float *w, uint32_t n)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%g", i ? ", " : "", (double)w[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

/* The keys of a run; kl->k may be NULL (count only). */
static int collect_keys(keylist *kl, const reco_config *cfg, const reco_pipeline_run_options *o)
{
    facts f;
    int rc = get_facts(&f, cfg, o);
    if (rc < 0)
        return rc;
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    reco_trainer_options to = RECO_TRAINER_OPTIONS_INIT;
    reco_pipeline_options pl = RECO_PIPELINE_OPTIONS_INIT;
    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    rc = reco_config_get_experiment(&ex, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_model(&mo, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_sim(&so, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_trainer(&to, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_pipeline(&pl, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_world(&wo, cfg);
    if (rc < 0)
        return rc;
    kl->cfg = cfg;
    const int W = f.source == SRC_WORLD, E = f.source == SRC_ENV, L = f.source == SRC_LOGS;
    const uint64_t per = ex.logging_interactions / ex.logging_interactions_per_user;
    const uint64_t n_logged = per > 0 ? per : 1;
    const char *uf = wo.user_features ? "true" : "false";
    /* what the source gives the models */
    if (W) {
        key_add(kl, "model.n_items", 1, "derived from world.n_items = %u", wo.n_items);
        key_add(kl, "model.n_signals", 1, "derived from the world's %u signals",
                RECO_WORLD_N_SIGNALS);
        key_add(kl, "model.lookback", 1, "derived from world.lookback = %u", wo.lookback);
        key_add(kl, "model.user_dim", 1, "derived from world.user_features = %s", uf);
        key_add(kl, "model.long_len", 1, "derived from world.long_len = %u", wo.long_len);
    } else if (E) {
        key_add(kl, "model.n_items", 1, "derived from the environment's n_items = %u",
                f.n_items);
        key_add(kl, "model.n_signals", 1, "derived from the environment's %u signals",
                f.n_signals);
        key_add(kl, "model.lookback", 1, "derived from the environment's lookback = %u",
                f.lookback);
        key_add(kl, "model.user_dim", 1, "derived from the environment's user_dim = %u",
                f.user_dim);
        key_add(kl, "model.long_len", 1, "derived from the environment's long_len = %u",
                f.long_len);
    } else {
        if (f.items_rows > 0)
            key_add(kl, "model.n_items", 1, "derived from the item table's %u items",
                    f.n_items);
        else
            key_add(kl, "model.n_items", 1, "derived from the logs' largest item id + 1 = %u",
                    f.n_items);
        key_add(kl, "model.n_signals", 1, "derived from the logs' %u signals", f.n_signals);
        key_add(kl, "model.lookback", 1, "derived from pipeline.lookback = %u", f.lookback);
        key_add(kl, "model.user_dim", 1, "derived from the logs' %u user features",
                f.user_dim);
    }
    /* inputs only the env's context() gives: refused where it has none (the model's
     * position is counted by the runner, the elapsed time and long-term history are not) */
    if (E && !f.has_context && mo.elapsed)
        key_add(kl, "model.elapsed", 1, "true needs the session context, which the "
                "environment does not give (no context() callback)");
    const char *cand_src = W ? "world.n_candidates" : E && f.has_candidates
                                                          ? "the environment's max_candidates"
                                                          : "pipeline.candidates";
    if (mo.max_candidates < f.candidates)
        key_add(kl, "model.max_candidates", 1, "%u is raised to %s = %u", mo.max_candidates,
                cand_src, f.candidates);
    if (W) {
        key_add(kl, "replay.lookback", 1, "derived from world.lookback = %u", wo.lookback);
        key_add(kl, "replay.context", 1, "derived from the model's inputs (model.position, "
                "model.elapsed, world.long_len, world.user_features)");
        key_add(kl, "replay.user_dim", 1, "derived from world.user_features = %s", uf);
        key_add(kl, "replay.long_len", 1, "derived from world.long_len = %u", wo.long_len);
        key_add(kl, "explorer.max_candidates", 1, "derived from world.n_candidates = %u",
                wo.n_candidates);
    } else {
        key_add(kl, "replay.lookback", 1, "derived from %s = %u",
                E ? "the environment's lookback" : "pipeline.lookback", f.lookback);
        key_add(kl, "replay.context", 1, "derived from the model's inputs (model.position, "
                "model.elapsed, model.long_len, the user features)");
        key_add(kl, "replay.user_dim", 1, "derived from %s = %u",
                E ? "the environment's user_dim" : "the logs' user features", f.user_dim);
        key_add(kl, "replay.long_len", 1, "derived from %s = %u",
                E ? "the environment's long_len" : "model.long_len", f.long_len);
        key_add(kl, "explorer.max_candidates", 1, "derived from %s = %u", cand_src,
                f.candidates);
    }
    key_add(kl, "explorer.stream", 1, "not read: the trainer gives each generator its own "
            "stream");
    if (W)
        key_add(kl, "sim.max_sessions", 1, "derived from trainer.n_generators x "
                "sessions_per_generator = %u (training) and world.max_sessions = %u "
                "(evaluation)", to.n_generators * to.sessions_per_generator, wo.max_sessions);
    else
        key_add(kl, "sim.max_sessions", 1, "derived from trainer.n_generators x "
                "sessions_per_generator = %u (training) and %s = %u (evaluation)",
                to.n_generators * to.sessions_per_generator,
                E ? "the environment's max_sessions" : "the pipeline's evaluation slots",
                f.max_sessions);
    if (so.max_session_len > f.cap)
        key_add(kl, "sim.max_session_len", 1, "%u is cut to %s = %u", so.max_session_len,
                W ? "world.max_session_len" : E && f.has_cap ? "the environment's max_steps"
                                                             : "pipeline.session_cap",
                f.cap);
    /* the simulator offers the environment's candidate count */
    key_agree(kl, "sim.n_candidates", so.n_candidates, f.candidates, cand_src);
    key_add(kl, "sim.seconds_base", 1, "derived from the logs (the step durations the fit "
            "measures)");
    if (W) {
        if (wo.carry_history && n_logged < wo.n_users)
            key_add(kl, "trainer.n_users", 1, "derived from the logs: their %llu users "
                    "(experiment.logging.interactions / interactions_per_user)",
                    (unsigned long long)n_logged);
        else
            key_add(kl, "trainer.n_users", 1, "derived from world.n_users = %u", wo.n_users);
    } else if (E) {
        key_add(kl, "trainer.n_users", 1, "derived from the logs: their %llu users "
                "(experiment.logging.interactions / interactions_per_user)",
                (unsigned long long)n_logged);
    } else {
        key_add(kl, "trainer.n_users", 1, "derived from the logs: the users of their training "
                "part");
    }
    /* what a pipeline never reads */
    key_add(kl, "trainer.metrics_csv", 1, "not read: the learning curve goes to "
            "experiment.output.dir/learning_curve.csv");
    key_add(kl, "fit.checkpoint", 1, "not read: the pipeline keeps no checkpoint of the "
            "feedback model");
    key_add(kl, "experiment.seed", 1, "not read: a run has one seed per entry of "
            "experiment.seeds");
    key_add(kl, "experiment.time_limit_s", 1, "not read: the pipeline runs without a time "
            "limit");
    key_add(kl, "experiment.verbosity", 1, "not read: progress goes to the progress callback "
            "(recomind: --quiet)");
    /* the environment-independent section: it agrees with the source, or is the source */
    char a[160], b[160];
    if (W || E) {
        if (W || f.has_candidates)
            key_agree(kl, "pipeline.candidates", pl.candidates, f.candidates, cand_src);
        key_agree(kl, "pipeline.lookback", pl.lookback, f.lookback,
                  W ? "world.lookback" : "the environment's lookback");
        if (W || f.has_cap)
            key_agree(kl, "pipeline.session_cap", pl.session_cap, f.cap,
                      W ? "world.max_session_len" : "the environment's max_steps");
        if (W || f.has_reward) {
            float given[MAX_SIG] = {0};
            int differs = pl.n_reward != f.n_signals;
            for (uint32_t s = 0; s < pl.n_reward; s++) {
                given[s] = (float)pl.reward[s];
                differs |= s < f.n_signals && given[s] != f.reward[s];
            }
            fmt_list_f(a, sizeof a, given, pl.n_reward);
            fmt_list_f(b, sizeof b, f.reward, f.n_signals);
            const char *src = W ? "world.reward (click, long_watch, like, hide)"
                                : "the environment's reward_weights";
            if (differs && key_given(kl, "pipeline.reward"))
                key_add(kl, "pipeline.reward", 1, "%s differs from %s = %s", a, src, b);
            else
                key_add(kl, "pipeline.reward", 0, "derived from %s = %s", src, b);
        }
        if (W) {
            const int want_logged = pl.eval_users == RECO_PIPELINE_EVAL_USERS_LOGGED;
            const int bad = pl.eval_users != RECO_PIPELINE_EVAL_USERS_AUTO &&
                            want_logged != wo.carry_history;
            if (bad)
                key_add(kl, "pipeline.eval_users", 1, "%s differs from world.carry_history = "
                        "%s (%s users)", want_logged ? "logged" : "new",
                        wo.carry_history ? "true" : "false", wo.carry_history ? "logged"
                                                                               : "new");
        }
        key_add(kl, "pipeline.heldout_share", 1, "not read: only a run on logs splits them");
    }
    if (L) {
        kl->not_read = "not read: the logs are given (no logging stage)";
        reco__config_section_leaves("experiment", "logging", leaf_not_read, kl);
        key_add(kl, "pipeline.eval_users", 1, "not read: the evaluation users are the logs' "
                "held-out users");
        key_add(kl, "pipeline.bootstrap", 1, "not read: the logs are given (no bootstrap "
                "stage)");
        /* the logs' held-out simulator is the evaluation: choosing on it would select on
         * the test set */
        if (pl.select_snapshot == RECO_PIPELINE_SELECT_HELDOUT)
            key_add(kl, "pipeline.select_snapshot", 1, "heldout does not apply to a run on "
                    "logs: their held-out simulator is the evaluation, and choosing on it "
                    "would choose on the test set");
        if (pl.early_stop_patience > 0)
            key_add(kl, "pipeline.early_stop_patience", 1, "%u does not apply to a run on "
                    "logs: their held-out simulator is the evaluation, and stopping on it "
                    "would choose on the test set", pl.early_stop_patience);
    } else {
        const int model = ex.logging_policy == RECO_EXPERIMENT_LOGGING_MODEL;
        const char *pol = ex.logging_policy == RECO_EXPERIMENT_LOGGING_UNIFORM ? "uniform"
                                                                               : "popularity";
        if (!model) {
            key_add(kl, "pipeline.bootstrap", 1, "not read: experiment.logging.policy is %s "
                    "(no bootstrap stage)", pol);
            key_add(kl, "experiment.logging.bootstrap_interactions", 1, "not read: "
                    "experiment.logging.policy is %s (no bootstrap stage)", pol);
            key_add(kl, "experiment.logging.temperature", 1, "not read: experiment.logging."
                    "policy is %s", pol);
        } else if (E && pl.bootstrap == RECO_PIPELINE_BOOTSTRAP_POPULARITY) {
            key_add(kl, "pipeline.bootstrap", 1, "popularity needs a popularity prior, which "
                    "the environment has not: use uniform (or auto)");
        }
        if (E && ex.logging_policy == RECO_EXPERIMENT_LOGGING_POPULARITY)
            key_add(kl, "experiment.logging.policy", 1, "popularity needs a popularity prior, "
                    "which the environment has not: use model or uniform");
        const int uses_power = W ? (ex.logging_policy == RECO_EXPERIMENT_LOGGING_POPULARITY ||
                                    (model && !f.bootstrap_uniform))
                                 : 0;
        if (!uses_power)
            key_add(kl, "experiment.logging.popularity_power", 1, "not read: %s",
                    E ? "the environment has no popularity prior"
                      : ex.logging_policy == RECO_EXPERIMENT_LOGGING_UNIFORM
                          ? "experiment.logging.policy is uniform"
                          : "pipeline.bootstrap is uniform");
    }
    if (!W) {
        char reason[96];
        snprintf(reason, sizeof reason, "not read: the pipeline runs on %s, not the built-in "
                 "world", L ? "logs" : "another environment");
        kl->not_read = reason;
        reco__config_section_leaves("world", NULL, leaf_not_read, kl);
        kl->not_read = NULL;
    }
    return kl->rc;
}

int reco_pipeline_keys(reco_pipeline_key *out, uint32_t cap, uint32_t *n_out,
                       uint32_t *n_refused_out, const reco_config *cfg,
                       const reco_pipeline_run_options *opts)
{
    if (n_out == NULL || cfg == NULL || (out == NULL && cap > 0))
        return reco__error_set(RECO_EINVAL, "reco_pipeline_keys: NULL argument");
    reco_pipeline_run_options o;
    int rc = check_run_options(&o, opts);
    if (rc < 0)
        return rc;
    keylist kl = {out, cap, 0, 0, cfg, RECO_OK, NULL};
    rc = collect_keys(&kl, cfg, &o);
    if (rc < 0)
        return rc;
    *n_out = kl.n;
    if (n_refused_out != NULL)
        *n_refused_out = kl.refused;
    return RECO_OK;
}

/* ---- copies of the environment ------------------------------------------------------------ */

/* One copy of the environment the pipeline runs on: the built-in world, or a user's env
 * behind a forwarding env whose inner copy can be replaced by a fresh one (restore) while
 * the evaluator holds the forwarding env. */
typedef struct penv {
    reco_env env;                 /* what the pipeline uses */
    reco_world *world;            /* the built-in world, or NULL */
    const reco_pipeline_env *src; /* the user's factory, or NULL */
    reco_env inner;               /* the user's current copy */
    int open;
    const reco_allocator *a;
    void *state;                  /* load_state() bytes a restore goes back to, or NULL */
    size_t state_len;
} penv;

static void penv_close(penv *e)
{
    if (e->open && e->src != NULL)
        close_env(&e->inner, e->src);
    e->open = 0;
    reco_world_free(e->world);
    e->world = NULL;
    if (e->a != NULL)
        reco__free(e->a, e->state);
    e->state = NULL;
}

static int penv_open_world(penv *e, const reco_world_options *wo)
{
    memset(e, 0, sizeof *e);
    int rc = reco_world_create(&e->world, wo);
    return rc < 0 ? rc : reco_world_env(&e->env, e->world);
}

/* e->env is the user's current copy without save_state/load_state (no checkpoints of it);
 * its address stays, so the simulators whose start env it is see each fresh copy. */
static void penv_adopt(penv *e)
{
    e->open = 1;
    e->env = e->inner;
    e->env.save_state = NULL;
    e->env.load_state = NULL;
}

static int penv_open_user(penv *e, const reco_pipeline_env *src, const reco_allocator *a)
{
    memset(e, 0, sizeof *e);
    e->src = src;
    e->a = a;
    int rc = open_env(&e->inner, src);
    if (rc < 0)
        return rc;
    penv_adopt(e);
    return RECO_OK;
}

/* Back to the fresh state before a policy runs (common random numbers): the world resets
 * its slots; a user's copy is replaced by a fresh one, then given the saved state if any. */
static int penv_restore(penv *e)
{
    if (e->world != NULL)
        return reco_world_reset(e->world);
    close_env(&e->inner, e->src);
    e->open = 0;
    int rc = open_env(&e->inner, e->src);
    if (rc < 0)
        return rc;
    penv_adopt(e);
    if (e->state != NULL) {
        uint64_t gen;
        rc = RECO__CALLBACK(gen, "the env's load_state()",
                            e->inner.load_state(e->state, e->state_len, e->inner.payload));
    }
    return rc;
}

/* The evaluation copy of a user's env starts from the state `from` has now (its users'
 * logged past) when the env can save and load its state; otherwise it stays a fresh copy. */
static int penv_start_from(penv *e, const penv *from)
{
    if (e->src == NULL || from->inner.save_state == NULL || from->inner.load_state == NULL ||
        from->inner.version < 2)
        return RECO_OK;
    uint64_t gen;
    size_t len = 0;
    int rc = RECO__CALLBACK(gen, "the env's save_state()",
                            from->inner.save_state(NULL, 0, &len, from->inner.payload));
    if (rc < 0)
        return rc;
    e->state = reco__alloc(e->a, len, 0);
    if (e->state == NULL)
        return RECO_ENOMEM;
    e->state_len = len;
    rc = RECO__CALLBACK(gen, "the env's save_state()",
                        from->inner.save_state(e->state, len, &len, from->inner.payload));
    if (rc == RECO_OK)
        rc = RECO__CALLBACK(gen, "the env's load_state()",
                            e->inner.load_state(e->state, e->state_len, e->inner.payload));
    return rc;
}

/* ---- the users' logged past as a start env (the logs path) ---------------------------------- */

/* A start env for the simulators of a run on logs: user j (the j-th user of the log, in its
 * canonical order) starts from their last logged interactions: the window of the last L,
 * the long-term history of the last H, the user features of their last row. It has no
 * candidates or steps of its own. */
typedef struct henv {
    const reco_allocator *a;
    reco_log_columns c;
    uint32_t n_users, L, H, U, slots;
    size_t *first, *count; /* (n_users) each user's rows */
    uint32_t *slot_user;   /* (slots) */
    const char *names[MAX_SIG]; /* the logs' signal names */
} henv;

static int he_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *p)
{
    henv *h = p;
    for (uint32_t i = 0; i < n; i++) {
        if (slots[i] >= h->slots || users[i] >= h->n_users)
            return reco__error_set(RECO_EINVAL, "the logs' start env: slot %u or user %llu "
                                   "out of range (%u slots, %u users)", slots[i],
                                   (unsigned long long)users[i], h->slots, h->n_users);
        h->slot_user[slots[i]] = (uint32_t)users[i];
    }
    return RECO_OK;
}

/* The last `w` interactions of user u, right-aligned, pads in front. */
static void he_window(int32_t *items, uint32_t *fb, uint32_t w, const henv *h, uint32_t u)
{
    const size_t first = h->first[u], n = h->count[u];
    for (uint32_t t = 0; t < w; t++) {
        const int64_t k = (int64_t)n - (int64_t)w + t;
        items[t] = k >= 0 ? h->c.items[first + (size_t)k] : RECO_PAD;
        fb[t] = k >= 0 ? h->c.feedback[first + (size_t)k] : 0;
    }
}

static int he_observe(int32_t *items, uint32_t *fb, float *feat, const uint32_t *slots,
                      uint32_t n, void *p)
{
    const henv *h = p;
    for (uint32_t i = 0; i < n; i++) {
        const uint32_t u = h->slot_user[slots[i]];
        he_window(items + (size_t)i * h->L, fb + (size_t)i * h->L, h->L, h, u);
        if (feat != NULL && h->U > 0)
            memcpy(feat + (size_t)i * h->U,
                   h->c.user_features + (h->first[u] + h->count[u] - 1) * h->U,
                   h->U * sizeof(float));
    }
    return RECO_OK;
}

static int he_context(uint32_t *steps, float *elapsed, int32_t *li, uint32_t *lf,
                      const uint32_t *slots, uint32_t n, void *p)
{
    const henv *h = p;
    for (uint32_t i = 0; i < n; i++) {
        if (steps != NULL)
            steps[i] = 0;
        if (elapsed != NULL)
            elapsed[i] = 0.0f;
        if (h->H > 0 && li != NULL && lf != NULL)
            he_window(li + (size_t)i * h->H, lf + (size_t)i * h->H, h->H, h,
                      h->slot_user[slots[i]]);
    }
    return RECO_OK;
}

static int he_candidates(int32_t *items, uint32_t *count, uint32_t max_c,
                         const uint32_t *slots, uint32_t n, void *p)
{
    (void)items, (void)count, (void)max_c, (void)slots, (void)n, (void)p;
    return reco__error_set(RECO_EINVAL, "the logs' start env has no candidates");
}

static int he_step(uint32_t *fb, float *reward, int *done, const uint32_t *slots,
                   const int32_t *items, uint32_t n, void *p)
{
    (void)fb, (void)reward, (void)done, (void)slots, (void)items, (void)n, (void)p;
    return reco__error_set(RECO_EINVAL, "the logs' start env cannot step");
}

static void henv_free(henv *h)
{
    if (h->a == NULL)
        return;
    reco__free(h->a, h->first);
    reco__free(h->a, h->count);
    reco__free(h->a, h->slot_user);
    h->first = h->count = NULL;
    h->slot_user = NULL;
}

static int henv_init(henv *h, reco_env *out, const reco_log *log, uint32_t n_items,
                     uint32_t n_signals, uint32_t L, uint32_t H, uint32_t slots,
                     const reco_allocator *a)
{
    memset(h, 0, sizeof *h);
    h->a = a;
    h->c = (reco_log_columns)RECO_LOG_COLUMNS_INIT;
    int rc = reco_log_get_columns(&h->c, log);
    if (rc < 0)
        return rc;
    h->n_users = (uint32_t)reco_log_n_users(log);
    h->L = L;
    h->H = H;
    h->U = reco_log_user_dim(log);
    h->slots = slots;
    h->first = reco__calloc(a, h->n_users + 1, sizeof(size_t));
    h->count = reco__calloc(a, h->n_users + 1, sizeof(size_t));
    h->slot_user = reco__calloc(a, slots, sizeof(uint32_t));
    if (h->first == NULL || h->count == NULL || h->slot_user == NULL)
        return RECO_ENOMEM;
    uint32_t u = 0;
    for (size_t r = 0; r < h->c.n_rows; r++) {
        if (r > 0 && h->c.users[r] != h->c.users[r - 1])
            u++;
        if (h->count[u]++ == 0)
            h->first[u] = r;
    }
    for (uint32_t f = 0; f < n_signals && f < MAX_SIG; f++)
        h->names[f] = reco_log_signal_name(log, f);
    memset(out, 0, sizeof *out);
    out->version = 4;
    out->signal_names = h->names;
    out->n_items = n_items;
    out->n_signals = n_signals;
    out->lookback = L;
    out->user_dim = h->U;
    out->max_sessions = slots;
    out->reset = he_reset;
    out->observe = he_observe;
    out->candidates = he_candidates;
    out->step = he_step;
    out->payload = h;
    out->long_len = H;
    out->context = he_context;
    return RECO_OK;
}

/* ---- on-policy calibration: the model against the truth where a policy goes ---- */

/* Wraps a policy: after its choice, the feedback model's probabilities of the chosen items in
 * the rows' states and the env's own (probabilities()) are added up per output, so a run of
 * the policy says how wrong the model is on that policy's choices (the simulator's view of
 * them), not only on the logged rows. The sessions themselves are played by the runner. */
enum { CAL_MAX = 256 };
typedef struct calib_policy {
    const reco_policy *inner;
    const reco_env *env;
    const reco_model *model;
    reco_workspace *ws;
    uint32_t L, U, H, n_out;
    double model_sum[MAX_OUT], true_sum[MAX_OUT];
    uint64_t steps;
    int32_t shown[CAL_MAX];
    float logits[CAL_MAX * MAX_OUT], probs[CAL_MAX * MAX_OUT];
} calib_policy;

/* Never called (the runner calls choose_sessions()); a policy struct needs a choose(). */
static int cal_choose_v1(uint32_t *idx, const int32_t *items, const uint32_t *fb,
                         const float *feat, const int32_t *cand, const uint32_t *counts,
                         uint32_t max_c, uint32_t n, void *p)
{
    (void)idx, (void)items, (void)fb, (void)feat, (void)cand, (void)counts, (void)max_c,
        (void)n, (void)p;
    return reco__error_set(RECO_ERROR, "on-policy calibration: choose() called");
}

static int cal_choose(uint32_t *idx, const reco_batch *st, const uint32_t *counts,
                      const reco_policy_sessions *sess, void *p)
{
    calib_policy *c = p;
    const reco_policy *in = c->inner;
    int rc;
    if (in->version >= 3 && in->choose_sessions != NULL)
        rc = in->choose_sessions(idx, st, counts, sess, in->payload);
    else if (in->version >= 2 && in->choose_states != NULL)
        rc = in->choose_states(idx, st, counts, in->payload);
    else
        rc = in->choose(idx, st->items, st->feedback, st->user_features, st->candidates,
                        counts, st->n_candidates, st->size, in->payload);
    if (rc < 0)
        return rc;
    uint32_t heads[MAX_OUT];
    for (uint32_t h = 0; h < c->n_out; h++)
        heads[h] = h;
    const uint32_t n = st->size, C = st->n_candidates;
    for (uint32_t i0 = 0; i0 < n; i0 += CAL_MAX) {
        const uint32_t k = n - i0 < CAL_MAX ? n - i0 : CAL_MAX;
        for (uint32_t i = 0; i < k; i++)
            c->shown[i] = st->candidates[(size_t)(i0 + i) * C + idx[i0 + i]];
        reco_batch b = RECO_BATCH_INIT;
        b.size = k;
        b.items = st->items + (size_t)i0 * c->L;
        b.feedback = st->feedback + (size_t)i0 * c->L;
        b.user_features = c->U > 0 && st->user_features ? st->user_features + (size_t)i0 * c->U
                                                        : NULL;
        b.steps = st->steps ? st->steps + i0 : NULL;
        b.elapsed = st->elapsed ? st->elapsed + i0 : NULL;
        b.long_items = c->H > 0 && st->long_items ? st->long_items + (size_t)i0 * c->H : NULL;
        b.long_feedback =
            c->H > 0 && st->long_feedback ? st->long_feedback + (size_t)i0 * c->H : NULL;
        b.n_candidates = 1;
        b.candidates = c->shown;
        rc = reco_model_score(c->logits, c->model, c->ws, &b, heads, c->n_out);
        if (rc == RECO_OK) {
            uint64_t gen;
            rc = RECO__CALLBACK(gen, "the env's probabilities()",
                                c->env->probabilities(c->probs, sess->slots + i0, c->shown, k,
                                                      c->env->payload));
        }
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < k * c->n_out; i++) {
            c->model_sum[i % c->n_out] += 1.0 / (1.0 + reco__exp(-(double)c->logits[i]));
            c->true_sum[i % c->n_out] += c->probs[i];
        }
        c->steps += k;
    }
    return RECO_OK;
}

/* ---- one run ------------------------------------------------------------------------------ */

typedef struct run_ctx {
    const reco_allocator *a;
    reco_pipeline_run_options o;
    facts f;
    reco_experiment_options ex;
    reco_world_options wo;
    reco_model_options mo;
    reco_fit_options fo;
    reco_sim_options so;
    reco_qnet_options qo;
    reco_replay_options rpo;
    reco_explorer_options eo;
    reco_trainer_options to;
    reco_pipeline_options pl;
    pthread_mutex_t say_mu;
} run_ctx;

static void say(run_ctx *r, const char *fmt, ...) RECO__PRINTF(2, 3);
static void say(run_ctx *r, const char *fmt, ...)
{
    if (r->o.progress == NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&r->say_mu);
    r->o.progress(line, r->o.progress_payload);
    pthread_mutex_unlock(&r->say_mu);
}

/* The model's mean probability and the truth's on `policy`'s own choices, over `n` sessions
 * of `users` in `e` (restored before and after). */
static int on_policy_calibration(double *model_mean, double *true_mean, penv *e,
                                 const reco_model *model, const reco_policy *policy,
                                 const uint64_t *users, uint32_t n, uint32_t n_candidates,
                                 const reco_allocator *a)
{
    if (e->env.probabilities == NULL)
        return reco__error_set(RECO_EINVAL, "on-policy calibration needs the environment's "
                               "probabilities()");
    calib_policy *c = reco__calloc(a, 1, sizeof *c);
    if (c == NULL)
        return RECO_ENOMEM;
    int rc = penv_restore(e);
    c->inner = policy;
    c->env = &e->env;
    c->model = model;
    c->L = e->env.lookback;
    c->U = e->env.user_dim;
    c->H = e->env.version >= 3 ? e->env.long_len : 0;
    c->n_out = e->env.n_signals + 1;
    /* the runner checks (and binds to the env's weights) the policy it is given, the wrapper:
     * the wrapped policy is checked here */
    if (rc == RECO_OK)
        rc = reco__policy_check(policy, &e->env, "on-policy calibration", "the policy");
    if (rc == RECO_OK)
        rc = reco_workspace_create(&c->ws, model);
    reco_policy cp = *policy;
    cp.version = RECO_POLICY_VERSION;
    cp.choose = cal_choose_v1;
    cp.choose_states = NULL;
    cp.choose_sessions = cal_choose;
    cp.payload = c;
    reco_run_stats st = RECO_RUN_STATS_INIT;
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = n_candidates;
    if (rc == RECO_OK)
        rc = reco_run_sessions(&st, NULL, NULL, &e->env, &cp, users, n, &ro);
    for (uint32_t h = 0; h < c->n_out; h++) {
        model_mean[h] = c->steps ? c->model_sum[h] / (double)c->steps : NAN;
        true_mean[h] = c->steps ? c->true_sum[h] / (double)c->steps : NAN;
    }
    reco_workspace_free(c->ws);
    reco__free(a, c);
    const int rc2 = penv_restore(e);
    return rc < 0 ? rc : rc2;
}

static int make_env(reco_env *out, uint32_t generator, void *payload)
{
    (void)generator;
    *out = *(const reco_env *)payload;
    return RECO_OK;
}

/* ---- pieces: logs and fit --------------------------------------------------------------- */

int reco_pipeline_logs(reco_log **out, const reco_env *env, const reco_log_policy *policy,
                       const reco_pipeline_log_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_logs: out is NULL");
    *out = NULL;
    if (env == NULL || policy == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_logs: NULL argument");
    reco_pipeline_log_options o = RECO_PIPELINE_LOG_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_PIPELINE_LOG_OPTIONS_VERSION,
                                     "reco_pipeline_log_options");
        if (rc < 0)
            return rc;
        o = *opts;
    }
    if (o.interactions == 0 || o.interactions_per_user == 0)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_logs: interactions and "
                               "interactions_per_user must be at least 1");
    int rc = reco_env_check(env);
    if (rc < 0)
        return rc;
    const int v4 = env->version >= 4;
    const uint32_t cand = o.candidates ? o.candidates
                          : v4 && env->max_candidates ? env->max_candidates : 500;
    const uint32_t cap = o.session_cap ? o.session_cap : v4 && env->max_steps ? env->max_steps
                                                                                 : 1000;
    const char *names[MAX_SIG];
    for (uint32_t s = 0; s < env->n_signals && s < MAX_SIG; s++)
        names[s] = reco_env_signal_name(env, s);
    /* what a production log holds: the user features the service knew, the logging
     * policy's propensity, and (where the env knows it) the true probabilities */
    reco_log_options lo = RECO_LOG_OPTIONS_INIT;
    lo.n_signals = env->n_signals;
    lo.signal_names = v4 && env->signal_names ? names : NULL;
    lo.user_dim = env->user_dim;
    lo.propensity = o.propensity != 0;
    lo.oracle = o.oracle != 0;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = o.interactions;
    go.n_users = o.interactions / o.interactions_per_user > 0
                     ? o.interactions / o.interactions_per_user
                     : 1;
    go.first_user = o.first_user;
    go.max_candidates = cand;
    go.max_steps = cap > 1 ? cap - 1 : 1;
    if (env->reset == reco_world_start) /* the world's reset() takes session keys */
        go.session_key = world_key;
    go.seed = o.seed;
    rc = reco_log_create(out, &lo);
    if (rc == RECO_OK)
        rc = reco_log_generate(*out, env, policy, &go);
    if (rc < 0) {
        reco_log_free(*out);
        *out = NULL;
    }
    return rc;
}

int reco_pipeline_fit(reco_model **out, reco_fit_report *report, const reco_log *log,
                      double valid_fraction, uint64_t split_seed, const reco_model_options *mo,
                      const reco_fit_options *fo, const float *item_dense,
                      const int32_t *item_fields, uint32_t n_item_rows)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_fit: out is NULL");
    *out = NULL;
    if (log == NULL || mo == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_fit: NULL argument");
    if (!(valid_fraction >= 0.0 && valid_fraction < 1.0))
        return reco__error_set(RECO_EINVAL, "reco_pipeline_fit: valid_fraction %g is not in "
                               "[0, 1)", valid_fraction);
    const int wants_items = mo->version >= 2 && (mo->item_dense_dim > 0 ||
                                                 mo->item_n_fields > 0);
    if (wants_items && ((mo->item_dense_dim > 0 && item_dense == NULL) ||
                        (mo->item_n_fields > 0 && item_fields == NULL)))
        return reco__error_set(RECO_EINVAL, "reco_pipeline_fit: the model takes item features "
                               "(%u dense, %u fields) and none are given", mo->item_dense_dim,
                               mo->item_n_fields);
    reco_log *train = NULL, *valid = NULL;
    int rc = valid_fraction > 0.0 ? reco_log_split(&train, &valid, log, valid_fraction,
                                                   split_seed)
                                  : RECO_OK;
    if (rc == RECO_OK)
        rc = reco_model_create(out, mo);
    if (rc == RECO_OK && wants_items)
        rc = reco_model_set_item_features(*out, item_dense, item_fields, n_item_rows);
    if (rc == RECO_OK)
        rc = reco_fit_model(report, *out, valid_fraction > 0.0 ? train : log, valid, fo);
    reco_log_free(train);
    reco_log_free(valid);
    if (rc < 0) {
        reco_model_free(*out);
        *out = NULL;
    }
    return rc;
}

/* The item features the models take. */
typedef struct item_features {
    const float *dense;
    const int32_t *fields;
    uint32_t n;
} item_features;

/* Logs `n` interactions of users [first, first + n / per_user) under `lp` (the 0.1 example's
 * gen_logs). */
static int gen_logs(reco_log **out, const reco_env *env, const reco_log_policy *lp, uint64_t n,
                    uint32_t per_user, uint64_t first, uint32_t n_candidates,
                    uint32_t max_len, uint64_t seed)
{
    reco_pipeline_log_options o = RECO_PIPELINE_LOG_OPTIONS_INIT;
    o.interactions = n;
    o.interactions_per_user = per_user;
    o.first_user = first;
    o.candidates = n_candidates;
    o.session_cap = max_len;
    o.seed = seed;
    o.oracle = env->probabilities != NULL;
    return reco_pipeline_logs(out, env, lp, &o);
}

/* The off-policy log: `n` interactions of the logging policy `lp` with their propensities
 * and candidates (what reco_pipeline_logs() writes, plus the candidates column). */
static int gen_ope_log(reco_log **out, const reco_env *env, const reco_log_policy *lp,
                       uint64_t n, uint32_t per_user, uint64_t first, uint32_t n_candidates,
                       uint32_t max_len, uint64_t seed)
{
    const char *names[MAX_SIG];
    const int v4 = env->version >= 4;
    for (uint32_t f = 0; f < env->n_signals && f < MAX_SIG; f++)
        names[f] = reco_env_signal_name(env, f);
    reco_log_options lo = RECO_LOG_OPTIONS_INIT;
    lo.n_signals = env->n_signals;
    lo.signal_names = v4 && env->signal_names ? names : NULL;
    lo.user_dim = env->user_dim;
    lo.propensity = 1;
    lo.max_candidates = n_candidates;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = n;
    go.n_users = n / per_user > 0 ? n / per_user : 1;
    go.first_user = first;
    go.max_candidates = n_candidates;
    go.max_steps = max_len > 1 ? max_len - 1 : 1;
    if (env->reset == reco_world_start)
        go.session_key = world_key;
    go.seed = seed;
    int rc = reco_log_create(out, &lo);
    if (rc == RECO_OK)
        rc = reco_log_generate(*out, env, lp, &go);
    if (rc < 0) {
        reco_log_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Each policy's off-policy estimates from `log`, the feedback model as the direct method.
 * A failure is reported (say) and leaves have_ope 0: the estimates are a report, not a
 * step the experiment depends on. */
static void ope_policies(seed_job *j, const reco_log *log, const reco_policy *pols,
                         const reco_model *model, const float *reward, struct run_ctx *R);

/* A model of `mo` fitted on `log`, seeds offset by `seed` (the 0.1 example's fit). */
static int fit(reco_model **out, reco_fit_report *rep, const reco_model_options *mo,
               const item_features *items, const reco_log *log, const reco_fit_options *fo,
               uint64_t seed)
{
    reco_model_options o = *mo;
    o.seed = mo->seed + seed;
    reco_fit_options f = *fo;
    f.seed = fo->seed + seed;
    return reco_pipeline_fit(out, rep, log, 0.1, seed, &o, &f, items->dense, items->fields,
                             items->n);
}

/* Popularity from logs: each item's logged positive reward, sum_rows max(0, sum_f w_f s_f). */
static void log_popularity(float *pop, uint32_t n_items, const reco_log *log, const float *w,
                           uint32_t n_signals)
{
    memset(pop, 0, sizeof(float) * n_items);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    if (reco_log_get_columns(&c, log) < 0)
        return;
    for (size_t r = 0; r < c.n_rows; r++) {
        double v = 0.0;
        for (uint32_t f = 0; f < n_signals; f++)
            v += (c.feedback[r] >> f & 1u) ? (double)w[f] : 0.0;
        if (v > 0.0 && c.items[r] >= 0 && (uint32_t)c.items[r] < n_items)
            pop[c.items[r]] += (float)v;
    }
}

/* sim.ensemble and sim.pessimism (docs/sim.md) make the training simulator a pessimistic
 * ensemble; every other simulator measures with the one model: they leave `so` here. */
typedef struct pessimism {
    uint32_t k;
    float lambda;
    const reco_model *others[RECO_SIM_MAX_ENSEMBLE]; /* read by reco_sim_create() only */
} pessimism;

static void pessimism_take(pessimism *pm, reco_sim_options *so)
{
    memset(pm, 0, sizeof *pm);
    pm->k = so->ensemble_size;
    pm->lambda = so->pessimism;
    so->ensemble = NULL;
    so->ensemble_size = 1;
    so->pessimism = 0.0f;
}

/* Fits the K - 1 other models of the ensemble on the training logs (into extra[1..K-1], the
 * seeds of --ensemble) and makes `tso` the pessimistic ensemble over them and `model`. */
static int pessimism_fit(reco_sim_options *tso, pessimism *pm, reco_model **extra,
                         const reco_model_options *mo, const item_features *itf,
                         const reco_log *log, const reco_fit_options *fo, uint64_t s)
{
    for (uint32_t k = 1; k < pm->k; k++) {
        reco_fit_report r2 = RECO_FIT_REPORT_INIT;
        int rc = fit(&extra[k], &r2, mo, itf, log, fo, 1000 * s + 4 + 17 * k);
        if (rc < 0)
            return rc;
        pm->others[k - 1] = extra[k];
    }
    tso->ensemble = pm->others;
    tso->ensemble_size = pm->k;
    tso->pessimism = pm->lambda;
    return RECO_OK;
}

/* ---- the learning curve ------------------------------------------------------------------ */

typedef struct curve_ctx {
    run_ctx *run;
    seed_job *job;
    const reco_model *feedback;
    reco_sim_options so;
    penv *start;                /* the sessions' start states (restored first), or NULL */
    const reco_env *start_env;  /* a fixed start env (the logs), or NULL */
    uint32_t max_candidates;
    const uint64_t *users;
    uint32_t n_users;
    reco_policy policy;
    int failed;
    /* held-out selection: the snapshot with the best return in a simulator of a model fitted
     * on other logs is kept in `best` */
    const reco_model *heldout;
    const reco_model *online;
    reco_model *best;       /* NULL: no selection (early stopping alone) */
    double best_return;
    uint64_t best_updates;
    uint32_t patience;      /* early stopping: measurements without a new best; 0: off */
    uint32_t since_best;
} curve_ctx;

/* Mean return of @p policy on the curve sessions in a fresh simulator. */
static int sim_return(double *out, const curve_ctx *c, const reco_policy *policy)
{
    reco_env senv;
    reco_sim *sim = NULL;
    int rc = RECO_OK;
    if (c->start != NULL)
        rc = penv_restore(c->start);
    if (rc == RECO_OK)
        rc = reco_sim_create(&sim, c->feedback, &c->so);
    if (rc == RECO_OK)
        rc = reco_sim_set_start_env(sim, c->start ? &c->start->env : c->start_env);
    if (rc == RECO_OK)
        rc = reco_sim_env(&senv, sim);
    reco_run_stats st = RECO_RUN_STATS_INIT;
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.max_candidates = c->max_candidates;
    if (rc == RECO_OK)
        rc = reco_run_sessions(&st, NULL, NULL, &senv, policy, c->users, c->n_users, &ro);
    reco_sim_free(sim);
    *out = st.sessions ? st.reward / (double)st.sessions : 0.0;
    return rc;
}

static int on_progress(const reco_trainer_metrics *m, void *payload)
{
    curve_ctx *c = payload;
    seed_job *j = c->job;
    double r = 0.0;
    if (sim_return(&r, c, &c->policy) < 0) {
        c->failed = 1;
        return 1;
    }
    double rh = NAN;
    int stop = 0;
    if (c->heldout != NULL) {
        curve_ctx h = *c;
        h.feedback = c->heldout;
        if (sim_return(&rh, &h, &c->policy) < 0 ||
            (rh > c->best_return && c->best != NULL &&
             reco_model_copy_params(c->best, c->online) < 0)) {
            c->failed = 1;
            return 1;
        }
        if (rh > c->best_return) {
            c->best_return = rh;
            c->best_updates = m->updates;
            c->since_best = 0;
        } else {
            c->since_best++;
        }
        /* early stopping: `patience` measurements in a row without a new best */
        stop = c->patience > 0 && c->since_best >= c->patience;
    }
    if (j->n_curve < MAX_CURVE) {
        j->heldout_curve[j->n_curve] = rh;
        reco_pipeline_point *p = &j->curve[j->n_curve++];
        p->updates = m->updates;
        p->greedy_q_return = r;
        p->baseline_return = j->greedy_sim_return;
        p->loss = m->loss;
        p->mean_q = m->mean_q;
        p->explore_return = m->sim_return;
    }
    say(c->run, "seed %llu: %7llu updates  sim return of greedy-Q %.3f (greedy-supervised "
        "%.3f)  loss %.4f  mean Q %.3f  %.0f updates/s", (unsigned long long)j->seed,
        (unsigned long long)m->updates, r, j->greedy_sim_return, m->loss, m->mean_q,
        m->updates_per_s);
    if (stop)
        say(c->run, "seed %llu: early stop at %llu updates: the held-out simulator's return "
            "has not passed %.3f (at %llu updates) for %u measurements",
            (unsigned long long)j->seed, (unsigned long long)m->updates, c->best_return,
            (unsigned long long)c->best_updates, c->patience);
    return stop;
}

typedef struct sim_reset {
    reco_sim *sim;
    penv *start; /* or NULL */
} sim_reset;

static int reset_sim_hook(void *p)
{
    sim_reset *s = p;
    int rc = s->start ? penv_restore(s->start) : RECO_OK;
    return rc < 0 ? rc : reco_sim_reset(s->sim);
}

static int reset_penv_hook(void *p)
{
    return penv_restore(p);
}

#define CHECK(what, call)                                                                      \
    do {                                                                                       \
        if ((call) < 0) {                                                                      \
            j->rc = reco_error_code() < 0 ? reco_error_code() : RECO_ERROR;                    \
            snprintf(j->err, sizeof j->err, "seed %llu: %s: %s", (unsigned long long)j->seed,  \
                     what, reco_error_message());                                              \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

#define FAIL(code, ...)                                                                        \
    do {                                                                                       \
        j->rc = (code);                                                                        \
        int n_ = snprintf(j->err, sizeof j->err, "seed %llu: ", (unsigned long long)j->seed);  \
        snprintf(j->err + n_, sizeof j->err - (size_t)n_, __VA_ARGS__);                        \
        goto done;                                                                             \
    } while (0)

/* The options of the models fitted on the logs, without the inputs `without` names. */
static void strip_inputs(reco_model_options *mo, uint32_t without)
{
    if (without & RECO_PIPELINE_WITHOUT_USER)
        mo->user_dim = 0;
    if (without & RECO_PIPELINE_WITHOUT_ITEM)
        mo->item_dense_dim = mo->item_n_fields = 0;
    if (without & RECO_PIPELINE_WITHOUT_LONG)
        mo->long_len = 0;
    if (without & RECO_PIPELINE_WITHOUT_POSITION)
        mo->position = 0;
    if (without & RECO_PIPELINE_WITHOUT_ELAPSED)
        mo->elapsed = 0;
    if (without & RECO_PIPELINE_WITHOUT_STATE_BIAS)
        mo->state_bias = 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "click 0.712, long_watch 0.650" for the report's outputs. */
static void auc_list(char *buf, size_t cap, const reco_fit_report *rep, const facts *f)
{
    size_t len = 0;
    buf[0] = '\0';
    for (uint32_t h = 0; h <= f->n_signals && len < cap; h++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s %.3f", h ? ", " : "",
                                h < f->n_signals ? f->names[h] : "exit", rep->model[h].auc);
}

/* The item features of a user's env or logs: the table's arrays and shape into `mo`. */
static int items_into(item_features *itf, reco_model_options *mo, const reco_items *items,
                      uint32_t n_items)
{
    itf->dense = NULL;
    itf->fields = NULL;
    itf->n = n_items;
    mo->item_dense_dim = mo->item_n_fields = 0;
    if (items == NULL)
        return RECO_OK;
    if (reco_items_n_items(items) != n_items)
        return reco__error_set(RECO_EINVAL, "the item table has %u items, the catalog %u",
                               reco_items_n_items(items), n_items);
    if (reco_items_n_fields(items) > RECO_MODEL_MAX_ITEM_FIELDS)
        return reco__error_set(RECO_EINVAL, "the item table has %u fields, more than a "
                               "model's %d", reco_items_n_fields(items),
                               RECO_MODEL_MAX_ITEM_FIELDS);
    itf->dense = reco_items_dense(items);
    itf->fields = reco_items_fields(items);
    mo->item_dense_dim = reco_items_n_dense(items);
    mo->item_n_fields = reco_items_n_fields(items);
    for (uint32_t k = 0; k < mo->item_n_fields; k++)
        mo->item_field_sizes[k] = reco_items_field_size(items, k);
    return RECO_OK;
}

static void ope_policies(seed_job *j, const reco_log *log, const reco_policy *pols,
                         const reco_model *model, const float *reward, struct run_ctx *R)
{
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    reco_model_get_options(&mo, model);
    reco_ope_options oo = RECO_OPE_OPTIONS_INIT;
    oo.allocator = R->a;
    oo.reward_weights = reward;
    oo.model = model;
    oo.lookback = mo.lookback;
    oo.long_len = mo.long_len;
    j->have_ope = 0;
    if (log == NULL)
        return;
    j->ope_rows = reco_log_n_rows(log);
    for (uint32_t p = 0; p < N_POL; p++) {
        j->ope[p] = (reco_ope_result)RECO_OPE_RESULT_INIT;
        if (reco_ope_estimate(&j->ope[p], log, NULL, NULL, 0, &pols[p], &oo) < 0) {
            say(R, "seed %llu: no off-policy estimate of %s: %s", (unsigned long long)j->seed,
                pol_names[p], reco_error_message());
            reco_error_clear();
            return;
        }
    }
    j->have_ope = 1;
}

/* The Q-network of a seed (warm-started from `model`, or random with run_options
 * random_init), RecoMind's policy (ps[3]) and the control's (ps[WARM]: the same network
 * copied before its first update, into *warm), and the callbacks of every policy in `ps`:
 * the same in the environment and the logs-only runs. On failure j->rc and j->err say which
 * stage failed. */
static int make_learner(seed_job *j, const reco_model_options *qmo, reco_qnet_options *qo,
                        const reco_model *model, const float *reward, reco_policy_options *po,
                        reco_policy_state **ps, reco_model **warm, reco_policy *pols)
{
    qo->model = qmo;
    CHECK("Q-network", j->run->o.random_init ? reco_qnet_create(&j->qnet, qo)
                                             : reco_qnet_create_warm(&j->qnet, model, reward,
                                                                     qo));
    po->kind = RECO_POLICY_MODEL_HEAD;
    po->model = reco_qnet_online(j->qnet);
    po->head = reco_qnet_q_head(j->qnet);
    CHECK("RecoMind policy", reco_policy_create(&ps[3], po));
    CHECK("warm-start policy", reco_model_create(warm, qmo));
    CHECK("warm-start policy", reco_model_copy_params(*warm, reco_qnet_online(j->qnet)));
    po->model = *warm;
    CHECK("warm-start policy", reco_policy_create(&ps[WARM], po));
    for (int p = 0; p < N_POL; p++) {
        CHECK("policy", reco_policy_get(&pols[p], ps[p]));
        pols[p].name = pol_names[p];
    }
    return RECO_OK;
done:
    return j->rc;
}

static void *run_seed(void *arg)
{
    seed_job *j = arg;
    run_ctx *R = j->run;
    const facts *F = &R->f;
    const reco_allocator *a = R->a;
    const int W = F->source == SRC_WORLD;
    j->rc = RECO_ERROR;
    penv world, eval_world, ope_world;
    memset(&world, 0, sizeof world);
    memset(&eval_world, 0, sizeof eval_world);
    memset(&ope_world, 0, sizeof ope_world);
    reco_log *boot = NULL, *log = NULL, *opelog = NULL;
    reco_model *logger = NULL, *model = NULL, *heldout_model = NULL;
    reco_policy_state *best_state = NULL;
    reco_sim *train_sim = NULL, *eval_sim = NULL;
    reco_model *extra[MAX_ENSEMBLE] = {NULL};
    reco_sim *extra_sim[MAX_ENSEMBLE] = {NULL};
    reco__env_mix mix;
    memset(&mix, 0, sizeof mix);
    reco_replay *replay = NULL;
    reco_trainer *trainer = NULL;
    reco_policy_state *ps[N_POL] = {NULL};
    reco_model *warm = NULL; /* the Q-network before its first update */
    float *popularity = NULL, *weights = NULL, *itf_dense = NULL;
    int32_t *ids = NULL, *itf_fields = NULL;
    uint32_t *topics = NULL;
    uint64_t *users = NULL, *cal_users = NULL;
    item_features itf = {NULL, NULL, 0};

    reco_experiment_options ex = R->ex;
    reco_world_options wo = R->wo;
    reco_model_options mo = R->mo;
    reco_fit_options fo = R->fo;
    reco_env decl; /* what the simulators imitate */
    reco_sim_options so = R->so;
    pessimism pm;
    pessimism_take(&pm, &so);
    reco_qnet_options qo = R->qo;
    reco_replay_options rpo = R->rpo;
    reco_explorer_options eo = R->eo;
    reco_trainer_options to = R->to;
    fo.checkpoint = NULL;
    to.metrics_csv = NULL;
    const uint64_t s = j->seed;

    /* 1. the environment (the same catalog and users for every seed) and its logs */
    if (W) {
        CHECK("world", penv_open_world(&world, &wo));
        CHECK("world", penv_open_world(&eval_world, &wo));
    } else {
        CHECK("environment", penv_open_user(&world, R->o.env, a));
        CHECK("environment", penv_open_user(&eval_world, R->o.env, a));
    }
    /* pointers: a user's env copy is replaced in place when it is restored */
    const reco_env *wenv = &world.env, *eval_wenv = &eval_world.env;
    const uint32_t N = F->n_items;
    popularity = reco__calloc(a, N, sizeof(float));
    weights = reco__calloc(a, N, sizeof(float));
    ids = reco__calloc(a, N, sizeof(int32_t));
    topics = reco__calloc(a, N, sizeof(uint32_t));
    users = reco__calloc(a, ex.eval_sessions, sizeof(uint64_t));
    if (!popularity || !weights || !ids || !topics || !users)
        FAIL(RECO_ENOMEM, "out of memory");
    if (W) {
        for (uint32_t i = 0; i < N; i++)
            ids[i] = (int32_t)i;
        CHECK("items", reco_world_item_info(topics, NULL, NULL, popularity, world.world, ids, N));
        for (uint32_t i = 0; i < N; i++)
            weights[i] = reco__powf(popularity[i], (float)ex.logging_popularity_power);
        /* what a service knows of its items: the world's item features (noisy quality and
         * clickbait, log popularity; the topic) */
        itf.n = N;
        itf_dense = reco__calloc(a, (size_t)N * RECO_WORLD_ITEM_DENSE, sizeof(float));
        itf_fields = reco__calloc(a, (size_t)N * RECO_WORLD_ITEM_FIELDS, sizeof(int32_t));
        if (!itf_dense || !itf_fields)
            FAIL(RECO_ENOMEM, "out of memory");
        CHECK("item features", reco_world_item_features(itf_dense, itf_fields, world.world));
        itf.dense = itf_dense;
        itf.fields = itf_fields;
    }
    float reward[MAX_SIG];
    memcpy(reward, F->reward, sizeof reward);
    /* the model reads what the environment gives: its catalog, window, user features,
     * long-term history and item features (the environment decides them, the model's
     * position and elapsed keys whether the model uses the session context) */
    mo.n_items = N;
    mo.n_signals = F->n_signals;
    mo.lookback = F->lookback;
    mo.user_dim = wenv->user_dim;
    mo.long_len = wenv->long_len;
    if (W) {
        mo.item_dense_dim = RECO_WORLD_ITEM_DENSE;
        mo.item_n_fields = RECO_WORLD_ITEM_FIELDS;
        CHECK("item features", reco_world_item_field_sizes(mo.item_field_sizes, world.world));
    } else {
        CHECK("item features", items_into(&itf, &mo, R->o.items, N));
    }
    /* the logging recommender always has every input: `without` changes the models fitted
     * on the logs, never the logs */
    if (mo.max_candidates < F->candidates)
        mo.max_candidates = F->candidates;
    const reco_model_options mo_logger = mo;
    strip_inputs(&mo, R->o.without);
    /* with carried histories the users of the main logs are the ones evaluated and trained
     * on (a returning user is not a stranger): they come first, the bootstrap users after */
    const uint64_t n_logged = ex.logging_interactions / ex.logging_interactions_per_user > 0
                                  ? ex.logging_interactions / ex.logging_interactions_per_user
                                  : 1;
    const int uniform = ex.logging_policy == RECO_EXPERIMENT_LOGGING_UNIFORM ||
                        (ex.logging_policy == RECO_EXPERIMENT_LOGGING_MODEL &&
                         F->bootstrap_uniform);
    reco_log_policy lp = RECO_LOG_POLICY_INIT;
    lp.kind = uniform ? RECO_LOG_POLICY_UNIFORM : RECO_LOG_POLICY_POPULARITY;
    lp.item_weights = weights;
    lp.n_item_weights = N;
    const uint32_t per_user = ex.logging_interactions_per_user;
    const uint64_t first_user = 0, boot_user = n_logged + 1;
    double t0 = now_s();
    char aucs[512];
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    if (ex.logging_policy == RECO_EXPERIMENT_LOGGING_MODEL) {
        CHECK("bootstrap logs", gen_logs(&boot, wenv, &lp, ex.logging_bootstrap_interactions,
                                         per_user, boot_user, F->candidates, F->cap,
                                         1000 * s + 1));
        CHECK("logging model", fit(&logger, &rep, &mo_logger, &itf, boot, &fo, 1000 * s + 2));
        if (uniform)
            say(R, "seed %llu: %zu bootstrap interactions under uniform; logging model "
                "fitted (AUC %s %.3f)", (unsigned long long)s, reco_log_n_rows(boot),
                F->names[0], rep.model[0].auc);
        else
            say(R, "seed %llu: %zu bootstrap interactions under popularity^%.2f; logging "
                "model fitted (AUC %s %.3f)", (unsigned long long)s, reco_log_n_rows(boot),
                ex.logging_popularity_power, F->names[0], rep.model[0].auc);
        lp.kind = RECO_LOG_POLICY_MODEL;
        lp.model = logger;
        lp.signal_weights = reward;
        lp.temperature = (float)ex.logging_temperature;
    }
    if (W)
        reco_world_reset(world.world);
    CHECK("logs", gen_logs(&log, wenv, &lp, ex.logging_interactions, per_user, first_user,
                           F->candidates, F->cap, 1000 * s + 3));
    if (W && wo.carry_history) /* the evaluation world starts from the same users' past */
        CHECK("evaluation world", reco_world_copy_histories(eval_world.world, world.world));
    /* off-policy evaluation (docs/ope.md): a further log of the logging policy, with the
     * candidates of every step, played in a copy of the environment of its own (so nothing
     * else sees it) by users past every other id */
    if (!R->o.fit_only) {
        /* users past the bootstrap, logged and held-out ones */
        const uint64_t ope_first = boot_user + ex.logging_bootstrap_interactions / per_user +
                                   1 + n_logged + 1;
        int orc = W ? penv_open_world(&ope_world, &wo)
                    : penv_open_user(&ope_world, R->o.env, a);
        if (orc == RECO_OK)
            orc = gen_ope_log(&opelog, &ope_world.env, &lp,
                              ex.logging_interactions < 20000 ? ex.logging_interactions : 20000,
                              per_user, ope_first, F->candidates, F->cap, 1000 * s + 7);
        if (orc < 0) {
            say(R, "seed %llu: no off-policy log: %s", (unsigned long long)s,
                reco_error_message());
            reco_error_clear();
        }
        penv_close(&ope_world);
    }
    if (!W) {
        CHECK("evaluation environment", penv_start_from(&eval_world, &world));
        /* no prior: the items' logged positive reward is their popularity */
        log_popularity(popularity, N, log, reward, F->n_signals);
    }
    rep = (reco_fit_report)RECO_FIT_REPORT_INIT;
    CHECK("feedback model", fit(&model, &rep, &mo, &itf, log, &fo, 1000 * s + 4));
    j->fit = rep;
    j->fit.train_loss = j->fit.valid_loss = NULL;
    j->fit.history_cap = 0;

    /* the simulator retrieves as the serving system does: the world's retrieval stage draws
     * a share of the candidates by its popularity prior (the system's own component, not the
     * users' behaviour); other environments' retrieval is unknown: uniform */
    if (W) {
        so.candidate_weights = popularity;
        so.candidate_weight_share = (float)wo.popular_candidate_share;
    }
    /* the simulator's clock: the step durations the logs' timestamps show */
    so.seconds_base = (float)(rep.n_gaps > 0 ? fmax(rep.step_seconds_base, 0.0) : 30.0);
    for (uint32_t f = 0; f < F->n_signals; f++) {
        so.seconds[f] = (float)rep.step_seconds[f];
        so.exit_tilt[f] = (float)rep.exit_tilt[f]; /* the exit after the step's signals */
    }
    auc_list(aucs, sizeof aucs, &rep, F);
    say(R, "seed %llu: %zu logged interactions; feedback model: %u epochs, validation AUC "
        "%s (%.1f s)", (unsigned long long)s, reco_log_n_rows(log), rep.epochs_run, aucs,
        now_s() - t0);
    const int select = R->o.select_heldout ||
                       R->pl.select_snapshot == RECO_PIPELINE_SELECT_HELDOUT;
    if (select || R->o.eval_heldout || R->pl.early_stop_patience > 0) {
        /* more logs of other users, and a second model fitted on them alone: its simulator
         * picks the Q-network snapshot to keep (selection on data the learner never saw), or
         * is the evaluation simulator (cross-fitting: the policies' choices are not selected
         * on its errors) */
        reco_log *hlog = NULL;
        if (W)
            reco_world_reset(world.world);
        const uint64_t first = boot_user + ex.logging_bootstrap_interactions / per_user + 1;
        int hrc = gen_logs(&hlog, wenv, &lp, ex.logging_interactions, per_user, first,
                           F->candidates, F->cap, 1000 * s + 5);
        reco_fit_report hrep = RECO_FIT_REPORT_INIT;
        if (hrc == RECO_OK)
            hrc = fit(&heldout_model, &hrep, &mo, &itf, hlog, &fo, 1000 * s + 6);
        reco_log_free(hlog);
        CHECK("held-out model", hrc);
        j->heldout_fit = hrep;
        j->heldout_fit.train_loss = j->heldout_fit.valid_loss = NULL;
        j->heldout_fit.history_cap = 0;
        say(R, "seed %llu: held-out model fitted on %llu other interactions (AUC %s %.3f)",
            (unsigned long long)s, (unsigned long long)ex.logging_interactions, F->names[0],
            hrep.model[0].auc);
    }
    reco_log_free(boot);
    boot = NULL;
    reco_model_free(logger);
    logger = NULL;

    /* evaluation users: a different block of the evaluation keys for each seed; with the
     * world's carried histories, evaluation sessions of the logged users (ordinals from 2^31:
     * they read the users' past and never write it); another env's logged users by id */
    if (W && wo.carry_history) {
        const uint64_t n_u = n_logged < wo.n_users ? n_logged : wo.n_users;
        for (uint32_t i = 0; i < ex.eval_sessions; i++) {
            const uint64_t k = (uint64_t)j->index * ex.eval_sessions + i;
            users[i] = RECO_WORLD_SESSION_KEY(first_user + k % n_u,
                                              0x80000000u + (uint32_t)(k / n_u));
        }
    } else if (W) {
        CHECK("evaluation users", reco_world_eval_users(users, world.world,
                                                        (uint64_t)j->index * ex.eval_sessions,
                                                        ex.eval_sessions));
    } else {
        /* "new": ids past every logged user (bootstrap and held-out ones included) */
        const uint64_t first_new = boot_user + ex.logging_bootstrap_interactions / per_user +
                                   1 + n_logged + 1;
        for (uint32_t i = 0; i < ex.eval_sessions; i++) {
            const uint64_t k = (uint64_t)j->index * ex.eval_sessions + i;
            users[i] = F->logged_eval ? first_user + k % n_logged : first_new + k;
        }
    }

    /* 2. the four policies */
    reco_policy pols[N_POL];
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.seed = 5 + s;
    CHECK("random policy", reco_policy_create(&ps[0], &po));
    po.kind = RECO_POLICY_POPULARITY;
    po.item_weights = popularity;
    po.n_item_weights = N;
    CHECK("popular policy", reco_policy_create(&ps[1], &po));
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = model;
    po.signal_weights = reward;
    CHECK("greedy-supervised policy", reco_policy_create(&ps[2], &po));
    if (R->o.fit_only) {
        /* where the simulator will be wrong: the model against the truth on each fixed
         * policy's own choices, in the evaluation environment */
        if (eval_wenv->probabilities == NULL) {
            j->rc = 0;
            goto done;
        }
        const uint32_t n_cal = ex.eval_sessions < 300 ? ex.eval_sessions : 300;
        cal_users = reco__calloc(a, n_cal, sizeof(uint64_t));
        if (cal_users == NULL)
            FAIL(RECO_ENOMEM, "out of memory");
        for (uint32_t i = 0; i < n_cal; i++) { /* the evaluation users of this seed */
            const uint64_t k = (uint64_t)j->index * ex.eval_sessions + i;
            cal_users[i] = !W ? users[i]
                           : wo.carry_history
                               ? RECO_WORLD_SESSION_KEY(first_user + k % n_logged, 0x80000000u)
                               : k;
        }
        int crc = RECO_OK;
        for (int p = 0; p < 3 && crc == RECO_OK; p++) {
            reco_policy pol;
            crc = reco_policy_get(&pol, ps[p]);
            if (crc == RECO_OK)
                crc = on_policy_calibration(j->cal_model[p], j->cal_true[p], &eval_world, model,
                                            &pol, cal_users, n_cal, F->candidates, a);
        }
        j->have_cal = 3;
        if (crc == RECO_OK && heldout_model != NULL) {
            /* the same choices of greedy-supervised, seen by the model fitted on other users'
             * logs: is the error the noise of one fit, or shared by every fit? */
            reco_policy pol;
            crc = reco_policy_get(&pol, ps[2]);
            if (crc == RECO_OK)
                crc = on_policy_calibration(j->cal_model[3], j->cal_true[3], &eval_world,
                                            heldout_model, &pol, cal_users, n_cal,
                                            F->candidates, a);
            j->have_cal = 4;
        }
        CHECK("on-policy calibration", crc);
        j->rc = 0;
        goto done;
    }

    /* 3. RecoMind in the simulator */
    for (uint32_t f = 0; f < F->n_signals; f++)
        so.reward[f] = reward[f];
    if (so.max_session_len > F->cap)
        so.max_session_len = F->cap;
    so.n_candidates = F->candidates;
    /* the simulators stand in for the environment (reco_sim_options.imitate): they take its
     * signal names, and reco_sim_create() checks its candidate count and reward weights; a
     * shorter simulated session (sim.max_session_len) is the one thing that may differ */
    decl = *wenv;
    if (decl.max_steps != so.max_session_len)
        decl.max_steps = 0;
    so.imitate = &decl;
    reco_model_options qmo = mo;
    qmo.seed = mo.seed + 100 * s + 17;
    if (make_learner(j, &qmo, &qo, model, reward, &po, ps, &warm, pols) < 0)
        goto done;
    rpo.lookback = F->lookback;
    rpo.seed = rpo.seed + s;
    /* the replay keeps what the Q-network reads: the session context, user features and the
     * long-term history */
    rpo.context = mo.position || mo.elapsed || mo.long_len > 0 || mo.user_dim > 0;
    rpo.user_dim = mo.user_dim;
    rpo.long_len = mo.long_len;
    reco_sim_options tso = so;
    tso.seed = so.seed + 1000 * s + 11;
    tso.max_sessions = to.n_generators * to.sessions_per_generator;
    reco_env tenv;
    CHECK("replay", reco_replay_create(&replay, &rpo));
    if (pm.k > 1) {
        CHECK("pessimistic ensemble", pessimism_fit(&tso, &pm, extra, &mo, &itf, log, &fo, s));
        say(R, "seed %llu: training in a pessimistic ensemble of %u feedback models "
            "(sim.pessimism %g)", (unsigned long long)s, pm.k, (double)pm.lambda);
    }
    CHECK("training simulator", reco_sim_create(&train_sim, model, &tso));
    CHECK("training simulator", reco_sim_set_start_env(train_sim, wenv));
    if (R->o.ensemble > 1) {
        /* more feedback models on the same logs (other initial and split seeds); slot i of
         * the training env plays in the simulator of model i mod K */
        reco_sim *all[MAX_ENSEMBLE] = {train_sim};
        for (uint32_t k = 1; k < R->o.ensemble; k++) {
            reco_fit_report r2 = RECO_FIT_REPORT_INIT;
            CHECK("ensemble model",
                  fit(&extra[k], &r2, &mo, &itf, log, &fo, 1000 * s + 4 + 17 * k));
            reco_sim_options xso = tso;
            xso.seed = tso.seed + k;
            CHECK("ensemble simulator", reco_sim_create(&extra_sim[k], extra[k], &xso));
            CHECK("ensemble simulator", reco_sim_set_start_env(extra_sim[k], wenv));
            all[k] = extra_sim[k];
        }
        CHECK("ensemble env", reco__env_mix_init(&mix, &tenv, all, R->o.ensemble, tso.max_sessions,
                                       F->candidates, a));
        say(R, "seed %llu: training in %u simulators (an ensemble of feedback models)",
            (unsigned long long)s, R->o.ensemble);
    } else {
        CHECK("training simulator", reco_sim_env(&tenv, train_sim));
    }
    reco_log_free(log);
    log = NULL;
    curve_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.run = R;
    cc.job = j;
    cc.feedback = model;
    cc.so = so;
    cc.so.seed = so.seed + 1000 * s + 101;
    cc.so.max_sessions = W ? wo.max_sessions : F->max_sessions;
    cc.start = &eval_world;
    cc.max_candidates = so.n_candidates;
    cc.users = users;
    cc.n_users = ex.eval_sessions < 300 ? ex.eval_sessions : 300;
    cc.policy = pols[3];
    j->heldout_curve[0] = NAN;
    if (select || R->pl.early_stop_patience > 0) {
        cc.heldout = heldout_model;
        cc.online = reco_qnet_online(j->qnet);
        cc.patience = R->pl.early_stop_patience;
        if (select) {
            CHECK("best snapshot", reco_model_create(&j->best, &qmo));
            CHECK("best snapshot", reco_model_copy_params(j->best, cc.online));
            cc.best = j->best;
        }
        curve_ctx h = cc;
        h.feedback = heldout_model;
        CHECK("held-out simulator", sim_return(&cc.best_return, &h, &pols[3]));
        j->heldout_curve[0] = cc.best_return;
    }
    CHECK("greedy-supervised in the simulator",
          sim_return(&j->greedy_sim_return, &cc, &pols[BASELINE]));
    double r0 = 0.0;
    CHECK("RecoMind in the simulator", sim_return(&r0, &cc, &pols[3]));
    j->curve[0] = (reco_pipeline_point){0, r0, j->greedy_sim_return, NAN, NAN, NAN};
    j->n_curve = 1;
    eo.max_candidates = F->candidates;
    eo.seed = eo.seed + 1000 * s + 23;
    to.seed = to.seed + 1000 * s + 9;
    /* the training simulator starts sessions of the logged users (their histories, from the
     * environment) when the world carries them; another env's logged users by id */
    to.n_users = !W ? n_logged : wo.carry_history && n_logged < wo.n_users ? n_logged
                                                                           : wo.n_users;
    to.progress = on_progress;
    to.progress_payload = &cc;
    say(R, "seed %llu: training RecoMind (%s), %llu updates", (unsigned long long)s,
        R->o.random_init ? "random init" : "warm start", (unsigned long long)to.total_updates);
    CHECK("trainer", reco_trainer_create(&trainer, j->qnet, replay, &eo, make_env, &tenv, &to));
    reco_trainer_report tr = RECO_TRAINER_REPORT_INIT;
    const int trc = reco_trainer_run(&tr, trainer);
    if (cc.failed)
        CHECK("evaluation during training", -1);
    CHECK("training", trc);
    if (j->n_curve == 0 || j->curve[j->n_curve - 1].updates != tr.updates)
        on_progress(&tr.last, &cc);
    j->trained = tr.updates;
    j->kept = select ? cc.best_updates : tr.updates;

    if (select) {
        /* RecoMind is the snapshot the held-out simulator liked best */
        reco_policy_options bpo = RECO_POLICY_OPTIONS_INIT;
        bpo.kind = RECO_POLICY_MODEL_HEAD;
        bpo.model = j->best;
        bpo.head = reco_qnet_q_head(j->qnet);
        CHECK("best policy", reco_policy_create(&best_state, &bpo));
        CHECK("best policy", reco_policy_get(&pols[3], best_state));
        pols[3].name = pol_names[3];
        say(R, "seed %llu: kept the snapshot of %llu updates (held-out simulator return "
            "%.3f)", (unsigned long long)s, (unsigned long long)cc.best_updates,
            cc.best_return);
    }

    /* 4. evaluation in the simulator and in the environment, common random numbers */
    reco_eval_options evo = RECO_EVAL_OPTIONS_INIT;
    evo.max_candidates = F->candidates;
    evo.deep_depth = ex.eval_deep_depth;
    evo.confidence = ex.eval_confidence;
    if (W) {
        evo.item_topics = topics;
        evo.n_item_topics = N;
    }
    reco_sim_options eso = so;
    eso.seed = so.seed + 1000 * s + 202;
    eso.max_sessions = W ? wo.max_sessions : F->max_sessions;
    /* the evaluation counts realised rewards, as the environment does: the expected reward
     * (less variance for the learner) would drop the link between a step's reward and
     * whether the user stays (exit_tilt) */
    eso.expected_reward = 0;
    reco_env eval_senv;
    if (R->o.eval_heldout) { /* the held-out model's simulator, with its own clock and tilt */
        eso.seconds_base = (float)fmax(j->heldout_fit.step_seconds_base, 0.0);
        for (uint32_t f = 0; f < F->n_signals; f++) {
            eso.seconds[f] = (float)j->heldout_fit.step_seconds[f];
            eso.exit_tilt[f] = (float)j->heldout_fit.exit_tilt[f];
        }
    }
    CHECK("evaluation simulator",
          reco_sim_create(&eval_sim, R->o.eval_heldout ? heldout_model : model, &eso));
    CHECK("evaluation simulator", reco_sim_set_start_env(eval_sim, eval_wenv));
    CHECK("evaluation simulator", reco_sim_env(&eval_senv, eval_sim));
    sim_reset sr = {eval_sim, &eval_world};
    evo.reset_env = reset_sim_hook;
    evo.reset_env_payload = &sr;
    t0 = now_s();
    CHECK("evaluation in the simulator",
          reco_eval_run(&j->ev[0], &eval_senv, pols, N_POL, users, ex.eval_sessions, &evo));
    evo.reset_env = reset_penv_hook;
    evo.reset_env_payload = &eval_world;
    CHECK(W ? "evaluation in the world" : "evaluation in the environment",
          reco_eval_run(&j->ev[1], eval_wenv, pols, N_POL, users, ex.eval_sessions, &evo));
    say(R, "seed %llu: evaluated %u sessions per policy in the simulator and the %s (%.1f s)",
        (unsigned long long)s, ex.eval_sessions, W ? "world" : "environment", now_s() - t0);
    ope_policies(j, opelog, pols, model, reward, R);
    j->rc = 0;
done:
    reco_trainer_free(trainer);
    for (int p = 0; p < N_POL; p++)
        reco_policy_free(ps[p]);
    reco_model_free(warm);
    reco_replay_free(replay);
    reco_sim_free(train_sim);
    for (uint32_t k = 0; k < MAX_ENSEMBLE; k++) {
        reco_sim_free(extra_sim[k]);
        reco_model_free(extra[k]);
    }
    reco__env_mix_free(&mix);
    reco_sim_free(eval_sim);
    reco_policy_free(best_state);
    reco_model_free(heldout_model);
    reco_model_free(model);
    reco_model_free(logger);
    reco_log_free(log);
    reco_log_free(opelog);
    reco_log_free(boot);
    penv_close(&ope_world);
    penv_close(&world);
    penv_close(&eval_world);
    reco__free(a, popularity);
    reco__free(a, weights);
    reco__free(a, ids);
    reco__free(a, topics);
    reco__free(a, users);
    reco__free(a, cal_users);
    reco__free(a, itf_dense);
    reco__free(a, itf_fields);
    return NULL;
}

/* The logged sessions of a log as the logging policy played them: mean return and depth
 * per session with normal intervals. */
static void logged_stats(reco_eval_stat *ret, reco_eval_stat *depth, const reco_log *log,
                         const float *w, uint32_t n_signals, double z)
{
    const size_t n = reco_log_n_sessions(log);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    double sr = 0, sr2 = 0, sd = 0, sd2 = 0;
    if (reco_log_get_columns(&c, log) == RECO_OK)
        for (size_t k = 0; k < n; k++) {
            size_t first = 0, steps = 0;
            if (reco_log_session(&first, &steps, log, k) < 0)
                continue;
            double r = 0.0;
            for (size_t t = first; t < first + steps; t++)
                for (uint32_t f = 0; f < n_signals; f++)
                    r += (c.feedback[t] >> f & 1u) ? (double)w[f] : 0.0;
            sr += r;
            sr2 += r * r;
            sd += (double)steps;
            sd2 += (double)steps * (double)steps;
        }
    const double m_r = n ? sr / (double)n : NAN, m_d = n ? sd / (double)n : NAN;
    const double v_r = n > 1 ? (sr2 - (double)n * m_r * m_r) / (double)(n - 1) : NAN;
    const double v_d = n > 1 ? (sd2 - (double)n * m_d * m_d) / (double)(n - 1) : NAN;
    const double h_r = z * sqrt(fmax(v_r, 0.0) / (double)n), h_d = z * sqrt(fmax(v_d, 0.0) /
                                                                           (double)n);
    *ret = (reco_eval_stat){m_r, n > 1 ? m_r - h_r : NAN, n > 1 ? m_r + h_r : NAN, n};
    *depth = (reco_eval_stat){m_d, n > 1 ? m_d - h_d : NAN, n > 1 ? m_d + h_d : NAN, n};
}

static double normal_z(double confidence)
{
    double lo = 0.0, hi = 10.0;
    for (int i = 0; i < 100; i++) {
        const double mid = 0.5 * (lo + hi);
        if (erf(mid / sqrt(2.0)) < confidence)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static int reset_sim_only(void *p)
{
    return reco_sim_reset(p);
}

/* One seed of a run on logs: the users split in two, a feedback model per part; RecoMind
 * trains in the first part's simulator and every policy is evaluated in both simulators on
 * the second part's users (their logged past as start states). */
static void *run_seed_logs(void *arg)
{
    seed_job *j = arg;
    run_ctx *R = j->run;
    const facts *F = &R->f;
    const reco_allocator *a = R->a;
    j->rc = RECO_ERROR;
    reco_log *part_a = NULL, *part_b = NULL;
    reco_model *model = NULL, *heldout_model = NULL;
    reco_sim *train_sim = NULL, *eval_sim[2] = {NULL, NULL};
    reco_model *extra[MAX_ENSEMBLE] = {NULL};
    reco_sim *extra_sim[MAX_ENSEMBLE] = {NULL};
    reco__env_mix mix;
    memset(&mix, 0, sizeof mix);
    henv ha, hb;
    memset(&ha, 0, sizeof ha);
    memset(&hb, 0, sizeof hb);
    reco_replay *replay = NULL;
    reco_trainer *trainer = NULL;
    reco_policy_state *ps[N_POL] = {NULL};
    reco_model *warm = NULL; /* the Q-network before its first update */
    float *popularity = NULL;
    uint64_t *users = NULL;
    item_features itf = {NULL, NULL, 0};
    reco_experiment_options ex = R->ex;
    reco_model_options mo = R->mo;
    reco_fit_options fo = R->fo;
    reco_sim_options so = R->so;
    pessimism pm;
    pessimism_take(&pm, &so);
    reco_qnet_options qo = R->qo;
    reco_replay_options rpo = R->rpo;
    reco_explorer_options eo = R->eo;
    reco_trainer_options to = R->to;
    fo.checkpoint = NULL;
    to.metrics_csv = NULL;
    const uint64_t s = j->seed;
    const uint32_t N = F->n_items;
    float reward[MAX_SIG];
    memcpy(reward, F->reward, sizeof reward);

    /* 1. the logs' users in two parts, a feedback model fitted on each */
    CHECK("split", reco_log_split(&part_a, &part_b, R->o.log, R->pl.heldout_share,
                                  1000 * s + 7));
    if (reco_log_n_users(part_a) < 2 || reco_log_n_users(part_b) < 2)
        FAIL(RECO_EINVAL, "split: the logs' %zu users are too few for a training part and a "
             "held-out part of at least 2 users each (pipeline.heldout_share = %g)",
             reco_log_n_users(R->o.log), R->pl.heldout_share);
    mo.n_items = N;
    mo.n_signals = F->n_signals;
    mo.lookback = F->lookback;
    mo.user_dim = F->user_dim;
    mo.long_len = F->long_len;
    CHECK("item features", items_into(&itf, &mo, R->o.items, N));
    if (mo.max_candidates < F->candidates)
        mo.max_candidates = F->candidates;
    strip_inputs(&mo, R->o.without);
    double t0 = now_s();
    char aucs[512];
    reco_fit_report rep = RECO_FIT_REPORT_INIT;
    CHECK("feedback model", fit(&model, &rep, &mo, &itf, part_a, &fo, 1000 * s + 4));
    j->fit = rep;
    j->fit.train_loss = j->fit.valid_loss = NULL;
    j->fit.history_cap = 0;
    auc_list(aucs, sizeof aucs, &rep, F);
    say(R, "seed %llu: %zu logged interactions of %zu users; feedback model: %u epochs, "
        "validation AUC %s (%.1f s)", (unsigned long long)s, reco_log_n_rows(part_a),
        reco_log_n_users(part_a), rep.epochs_run, aucs, now_s() - t0);
    reco_fit_report hrep = RECO_FIT_REPORT_INIT;
    CHECK("held-out model", fit(&heldout_model, &hrep, &mo, &itf, part_b, &fo, 1000 * s + 6));
    j->heldout_fit = hrep;
    j->heldout_fit.train_loss = j->heldout_fit.valid_loss = NULL;
    j->heldout_fit.history_cap = 0;
    say(R, "seed %llu: held-out model fitted on %zu interactions of %zu other users (AUC %s "
        "%.3f)", (unsigned long long)s, reco_log_n_rows(part_b), reco_log_n_users(part_b),
        F->names[0], hrep.model[0].auc);
    logged_stats(&j->logged_return, &j->logged_depth, part_b, reward, F->n_signals,
                 normal_z(ex.eval_confidence));

    popularity = reco__calloc(a, N, sizeof(float));
    users = reco__calloc(a, ex.eval_sessions, sizeof(uint64_t));
    if (popularity == NULL || users == NULL)
        FAIL(RECO_ENOMEM, "out of memory");
    log_popularity(popularity, N, part_a, reward, F->n_signals);
    so.seconds_base = (float)(rep.n_gaps > 0 ? fmax(rep.step_seconds_base, 0.0) : 30.0);
    for (uint32_t f = 0; f < F->n_signals; f++) {
        so.seconds[f] = (float)rep.step_seconds[f];
        so.exit_tilt[f] = (float)rep.exit_tilt[f];
        so.reward[f] = reward[f];
    }
    if (so.max_session_len > F->cap)
        so.max_session_len = F->cap;
    so.n_candidates = F->candidates;
    /* the held-out users start from their logged past */
    const uint32_t n_b = (uint32_t)reco_log_n_users(part_b);
    const uint32_t n_a = (uint32_t)reco_log_n_users(part_a);
    for (uint32_t i = 0; i < ex.eval_sessions; i++)
        users[i] = ((uint64_t)j->index * ex.eval_sessions + i) % n_b;
    const uint32_t train_slots = to.n_generators * to.sessions_per_generator;
    reco_env env_a, env_b;
    CHECK("start states", henv_init(&ha, &env_a, part_a, N, F->n_signals, F->lookback,
                                    F->long_len, train_slots, a));
    CHECK("start states", henv_init(&hb, &env_b, part_b, N, F->n_signals, F->lookback,
                                    F->long_len, F->max_sessions, a));
    /* the simulators take the logs' signal names (their start env declares nothing else) */
    so.imitate = &env_a;

    /* 2. the four policies */
    reco_policy pols[N_POL];
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT;
    po.seed = 5 + s;
    CHECK("random policy", reco_policy_create(&ps[0], &po));
    po.kind = RECO_POLICY_POPULARITY;
    po.item_weights = popularity;
    po.n_item_weights = N;
    CHECK("popular policy", reco_policy_create(&ps[1], &po));
    po.kind = RECO_POLICY_MODEL_GREEDY;
    po.model = model;
    po.signal_weights = reward;
    CHECK("greedy-supervised policy", reco_policy_create(&ps[2], &po));
    if (R->o.fit_only) {
        j->rc = 0;
        goto done;
    }

    /* 3. RecoMind in the first part's simulator */
    reco_model_options qmo = mo;
    qmo.seed = mo.seed + 100 * s + 17;
    if (make_learner(j, &qmo, &qo, model, reward, &po, ps, &warm, pols) < 0)
        goto done;
    rpo.lookback = F->lookback;
    rpo.seed = rpo.seed + s;
    rpo.context = mo.position || mo.elapsed || mo.long_len > 0 || mo.user_dim > 0;
    rpo.user_dim = mo.user_dim;
    rpo.long_len = mo.long_len;
    reco_sim_options tso = so;
    tso.seed = so.seed + 1000 * s + 11;
    tso.max_sessions = train_slots;
    reco_env tenv;
    CHECK("replay", reco_replay_create(&replay, &rpo));
    if (pm.k > 1) {
        CHECK("pessimistic ensemble",
              pessimism_fit(&tso, &pm, extra, &mo, &itf, part_a, &fo, s));
        say(R, "seed %llu: training in a pessimistic ensemble of %u feedback models "
            "(sim.pessimism %g)", (unsigned long long)s, pm.k, (double)pm.lambda);
    }
    CHECK("training simulator", reco_sim_create(&train_sim, model, &tso));
    CHECK("training simulator", reco_sim_set_start_env(train_sim, &env_a));
    if (R->o.ensemble > 1) {
        reco_sim *all[MAX_ENSEMBLE] = {train_sim};
        for (uint32_t k = 1; k < R->o.ensemble; k++) {
            reco_fit_report r2 = RECO_FIT_REPORT_INIT;
            CHECK("ensemble model",
                  fit(&extra[k], &r2, &mo, &itf, part_a, &fo, 1000 * s + 4 + 17 * k));
            reco_sim_options xso = tso;
            xso.seed = tso.seed + k;
            CHECK("ensemble simulator", reco_sim_create(&extra_sim[k], extra[k], &xso));
            CHECK("ensemble simulator", reco_sim_set_start_env(extra_sim[k], &env_a));
            all[k] = extra_sim[k];
        }
        CHECK("ensemble env", reco__env_mix_init(&mix, &tenv, all, R->o.ensemble, train_slots,
                                       F->candidates, a));
    } else {
        CHECK("training simulator", reco_sim_env(&tenv, train_sim));
    }
    curve_ctx cc;
    memset(&cc, 0, sizeof cc);
    cc.run = R;
    cc.job = j;
    cc.feedback = model;
    cc.so = so;
    cc.so.seed = so.seed + 1000 * s + 101;
    cc.so.max_sessions = F->max_sessions;
    cc.start_env = &env_b;
    cc.max_candidates = so.n_candidates;
    cc.users = users;
    cc.n_users = ex.eval_sessions < 300 ? ex.eval_sessions : 300;
    cc.policy = pols[3];
    CHECK("greedy-supervised in the simulator",
          sim_return(&j->greedy_sim_return, &cc, &pols[BASELINE]));
    double r0 = 0.0;
    j->heldout_curve[0] = NAN;
    CHECK("RecoMind in the simulator", sim_return(&r0, &cc, &pols[3]));
    j->curve[0] = (reco_pipeline_point){0, r0, j->greedy_sim_return, NAN, NAN, NAN};
    j->n_curve = 1;
    eo.max_candidates = F->candidates;
    eo.seed = eo.seed + 1000 * s + 23;
    to.seed = to.seed + 1000 * s + 9;
    to.n_users = n_a;
    to.progress = on_progress;
    to.progress_payload = &cc;
    say(R, "seed %llu: training RecoMind (%s), %llu updates", (unsigned long long)s,
        R->o.random_init ? "random init" : "warm start", (unsigned long long)to.total_updates);
    CHECK("trainer", reco_trainer_create(&trainer, j->qnet, replay, &eo, make_env, &tenv, &to));
    reco_trainer_report tr = RECO_TRAINER_REPORT_INIT;
    const int trc = reco_trainer_run(&tr, trainer);
    if (cc.failed)
        CHECK("evaluation during training", -1);
    CHECK("training", trc);
    if (j->n_curve == 0 || j->curve[j->n_curve - 1].updates != tr.updates)
        on_progress(&tr.last, &cc);
    j->trained = j->kept = tr.updates;

    /* 4. evaluation in the training simulator and in the held-out one, on held-out users */
    reco_eval_options evo = RECO_EVAL_OPTIONS_INIT;
    evo.max_candidates = F->candidates;
    evo.deep_depth = ex.eval_deep_depth;
    evo.confidence = ex.eval_confidence;
    for (int side = 0; side < 2; side++) {
        reco_sim_options eso = so;
        eso.seed = so.seed + 1000 * s + 202;
        eso.max_sessions = F->max_sessions;
        eso.expected_reward = 0;
        const reco_fit_report *fr = side ? &j->heldout_fit : &j->fit;
        eso.seconds_base = (float)(fr->n_gaps > 0 ? fmax(fr->step_seconds_base, 0.0) : 30.0);
        for (uint32_t f = 0; f < F->n_signals; f++) {
            eso.seconds[f] = (float)fr->step_seconds[f];
            eso.exit_tilt[f] = (float)fr->exit_tilt[f];
        }
        reco_env senv;
        CHECK("evaluation simulator",
              reco_sim_create(&eval_sim[side], side ? heldout_model : model, &eso));
        CHECK("evaluation simulator", reco_sim_set_start_env(eval_sim[side], &env_b));
        CHECK("evaluation simulator", reco_sim_env(&senv, eval_sim[side]));
        evo.reset_env = reset_sim_only;
        evo.reset_env_payload = eval_sim[side];
        CHECK(side ? "evaluation in the held-out simulator" : "evaluation in the simulator",
              reco_eval_run(&j->ev[side], &senv, pols, N_POL, users, ex.eval_sessions, &evo));
    }
    say(R, "seed %llu: evaluated %u sessions per policy in the simulator and the held-out "
        "simulator", (unsigned long long)s, ex.eval_sessions);
    j->rc = 0;
done:
    reco_trainer_free(trainer);
    for (int p = 0; p < N_POL; p++)
        reco_policy_free(ps[p]);
    reco_model_free(warm);
    reco_replay_free(replay);
    reco_sim_free(train_sim);
    for (uint32_t k = 0; k < MAX_ENSEMBLE; k++) {
        reco_sim_free(extra_sim[k]);
        reco_model_free(extra[k]);
    }
    reco__env_mix_free(&mix);
    reco_sim_free(eval_sim[0]);
    reco_sim_free(eval_sim[1]);
    henv_free(&ha);
    henv_free(&hb);
    reco_model_free(heldout_model);
    reco_model_free(model);
    reco_log_free(part_a);
    reco_log_free(part_b);
    reco__free(a, popularity);
    reco__free(a, users);
    return NULL;
}

/* ---- the run ------------------------------------------------------------------------------ */

int reco_pipeline_run_options_init(reco_pipeline_run_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_PIPELINE_RUN_OPTIONS_VERSION,
                                 "reco_pipeline_run_options");
    if (rc < 0)
        return rc;
    *opts = (reco_pipeline_run_options)RECO_PIPELINE_RUN_OPTIONS_INIT;
    opts->version = version;
    return RECO_OK;
}

int reco_pipeline_log_options_init(reco_pipeline_log_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_log_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_PIPELINE_LOG_OPTIONS_VERSION,
                                 "reco_pipeline_log_options");
    if (rc < 0)
        return rc;
    *opts = (reco_pipeline_log_options)RECO_PIPELINE_LOG_OPTIONS_INIT;
    opts->version = version;
    return RECO_OK;
}

void reco_pipeline_free(reco_pipeline *p)
{
    if (p == NULL)
        return;
    const reco_allocator a = p->alloc;
    for (uint32_t k = 0; k < p->n_seeds; k++) {
        reco_eval_free(p->jobs[k].ev[0]);
        reco_eval_free(p->jobs[k].ev[1]);
        reco_qnet_free(p->jobs[k].qnet);
        reco_model_free(p->jobs[k].best);
    }
    reco_eval_free(p->pooled[0]);
    reco_eval_free(p->pooled[1]);
    reco__free(&a, p->jobs);
    reco__free(&a, p);
    reco__handle_release();
}

/* The configuration's first refused option, as the call's error. */
static int refuse_keys(const reco_config *cfg, const reco_pipeline_run_options *o,
                       const reco_allocator *a)
{
    keylist kl = {NULL, 0, 0, 0, cfg, RECO_OK, NULL};
    int rc = collect_keys(&kl, cfg, o);
    if (rc < 0 || kl.refused == 0)
        return rc;
    const uint32_t n = kl.n;
    kl = (keylist){reco__calloc(a, n, sizeof(reco_pipeline_key)), n, 0, 0, cfg, RECO_OK, NULL};
    if (kl.k == NULL)
        return RECO_ENOMEM;
    rc = collect_keys(&kl, cfg, o);
    for (uint32_t i = 0; rc == RECO_OK && i < kl.n && i < n; i++) {
        const reco_pipeline_key *k = &kl.k[i];
        if (!k->refused)
            continue;
        /* the message is "source:line:column: path: why (...)"; a --set's source is its
         * `path=value` text, without a line */
        const int file = k->origin.kind == RECO_CONFIG_ORIGIN_FILE;
        rc = reco__error_set_at(RECO_ECONFIG, k->origin.source, file ? k->origin.line : 0,
                                file ? k->origin.column : 0, k->path, "%s (%u option%s "
                                "refused: reco_pipeline_keys() lists them)", k->why,
                                kl.refused, kl.refused > 1 ? "s" : "");
    }
    reco__free(a, kl.k);
    return rc;
}

/* What the configuration and the source must satisfy beyond the keys. */
static int check_run(run_ctx *R, const reco_config *cfg)
{
    const facts *f = &R->f;
    if (R->so.ensemble_size > 1 && R->o.ensemble > 1) {
        reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
        reco_config_get_origin(&o, cfg, "sim.ensemble");
        return reco__error_set_at(RECO_ECONFIG, o.source, o.line, o.column, "sim.ensemble",
                                  "%u (one pessimistic simulator) and the run "
                                  "option ensemble %u (slots spread over simulators) both fit "
                                  "more feedback models: choose one", R->so.ensemble_size,
                                  R->o.ensemble);
    }
    if (R->so.pessimism > 0.0f && R->so.ensemble_size < 2) {
        reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
        reco_config_get_origin(&o, cfg, "sim.pessimism");
        return reco__error_set_at(RECO_ECONFIG, o.source, o.line, o.column, "sim.pessimism",
                                  "%g weighs the disagreement of an ensemble, "
                                  "but sim.ensemble is 1 (set it to 2 or more)",
                                  (double)R->so.pessimism);
    }
    if (R->to.n_generators != 1) {
        reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
        reco_config_get_origin(&o, cfg, "trainer.n_generators");
        return reco__error_set_at(RECO_ECONFIG, o.source, o.line, o.column,
                                  "trainer.n_generators", "trainer.n_generators: %u: the "
                                  "pipeline runs one generator so that a run is a function of "
                                  "its seeds", R->to.n_generators);
    }
    if (f->n_signals < 1 || f->n_signals > MAX_SIG)
        return reco__error_set(RECO_EINVAL, "%s has %u signals: the pipeline takes 1..%d",
                               f->who, f->n_signals, MAX_SIG);
    if (f->source != SRC_WORLD && f->n_items < 1)
        return reco__error_set(RECO_EINVAL, "%s has no items", f->who);
    if (f->source == SRC_ENV && !f->has_reward && R->pl.n_reward != f->n_signals)
        return reco__error_set(RECO_ECONFIG, "pipeline.reward: the environment declares no "
                               "reward weights; give one per signal (%u, not %u)",
                               f->n_signals, R->pl.n_reward);
    if (f->source == SRC_LOGS) {
        if (reco_log_n_rows(R->o.log) == 0)
            return reco__error_set(RECO_EINVAL, "the logs have no rows");
        const uint32_t max_item = log_items(R->o.log);
        if (R->o.items != NULL && max_item > f->n_items)
            return reco__error_set(RECO_EINVAL, "the logs show item %u, past the item "
                                   "table's %u items", max_item - 1, f->n_items);
        if (R->pl.n_reward > 0 && R->pl.n_reward != f->n_signals)
            return reco__error_set(RECO_ECONFIG, "pipeline.reward: %u weights for the logs' "
                                   "%u signals", R->pl.n_reward, f->n_signals);
        int defaults = f->n_signals == RECO_N_SIGNALS_DEFAULT;
        for (uint32_t s = 0; defaults && s < f->n_signals; s++)
            defaults = strcmp(f->names[s], default_names[s]) == 0;
        if (R->pl.n_reward == 0 && !defaults)
            return reco__error_set(RECO_ECONFIG, "pipeline.reward: the logs' signals are not "
                                   "the four defaults (click, long_watch, like, hide): give "
                                   "their %u reward weights", f->n_signals);
        if (f->candidates > f->n_items)
            return reco__error_set(RECO_ECONFIG, "pipeline.candidates: %u is more than the "
                                   "catalog's %u items", f->candidates, f->n_items);
    }
    return RECO_OK;
}

int reco_pipeline_run(reco_pipeline **out, const reco_config *cfg,
                      const reco_pipeline_run_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run: out is NULL");
    *out = NULL;
    if (cfg == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_run: cfg is NULL");
    run_ctx *R = NULL;
    reco_pipeline *p = NULL;
    pthread_t *threads = NULL;
    reco_allocator alloc;
    reco_pipeline_run_options o;
    int rc = check_run_options(&o, opts);
    if (rc == RECO_OK)
        rc = reco__allocator_resolve(&alloc, o.allocator);
    if (rc < 0)
        return rc;
    const reco_allocator *a = &alloc;
    R = reco__calloc(a, 1, sizeof *R);
    if (R == NULL)
        return RECO_ENOMEM;
    R->a = a;
    R->o = o;
    pthread_mutex_init(&R->say_mu, NULL);
    R->ex = (reco_experiment_options)RECO_EXPERIMENT_OPTIONS_INIT;
    R->wo = (reco_world_options)RECO_WORLD_OPTIONS_INIT;
    R->mo = (reco_model_options)RECO_MODEL_OPTIONS_INIT;
    R->fo = (reco_fit_options)RECO_FIT_OPTIONS_INIT;
    R->so = (reco_sim_options)RECO_SIM_OPTIONS_INIT;
    R->qo = (reco_qnet_options)RECO_QNET_OPTIONS_INIT;
    R->rpo = (reco_replay_options)RECO_REPLAY_OPTIONS_INIT;
    R->eo = (reco_explorer_options)RECO_EXPLORER_OPTIONS_INIT;
    R->to = (reco_trainer_options)RECO_TRAINER_OPTIONS_INIT;
    R->pl = (reco_pipeline_options)RECO_PIPELINE_OPTIONS_INIT;
    rc = reco_config_get_experiment(&R->ex, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_world(&R->wo, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_model(&R->mo, cfg);
    /* every model of the run (feedback models, Q-networks, generator copies) inherits it */
    R->mo.deterministic = R->ex.deterministic;
    if (rc == RECO_OK)
        rc = reco_config_get_fit(&R->fo, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_sim(&R->so, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_qnet(&R->qo, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_replay(&R->rpo, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_explorer(&R->eo, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_trainer(&R->to, cfg);
    if (rc == RECO_OK)
        rc = reco_config_get_pipeline(&R->pl, cfg);
    if (rc == RECO_OK)
        rc = refuse_keys(cfg, &o, a);
    if (rc == RECO_OK)
        rc = get_facts(&R->f, cfg, &o);
    if (rc == RECO_OK)
        rc = check_run(R, cfg);
    if (rc < 0)
        goto fail;
    const uint32_t n_seeds = R->ex.n_seeds;
    p = reco__calloc(a, 1, sizeof *p);
    if (p == NULL) {
        rc = RECO_ENOMEM;
        goto fail;
    }
    p->alloc = alloc;
    reco__handle_acquire(); /* balanced by reco_pipeline_free(), also on failure below */
    p->source = R->f.source;
    p->fit_only = o.fit_only != 0;
    p->n_signals = R->f.n_signals;
    snprintf(p->side_name[0], sizeof p->side_name[0], "sim");
    snprintf(p->side_name[1], sizeof p->side_name[1], "%s", R->f.name);
    for (uint32_t h = 0; h <= p->n_signals; h++)
        snprintf(p->out_names[h], sizeof p->out_names[h], "%s",
                 h < p->n_signals ? R->f.names[h] : "exit");
    p->jobs = reco__calloc(a, n_seeds, sizeof *p->jobs);
    threads = reco__calloc(a, n_seeds, sizeof *threads);
    if (p->jobs == NULL || threads == NULL) {
        rc = RECO_ENOMEM;
        goto fail;
    }
    p->n_seeds = n_seeds;
    for (uint32_t k = 0; k < n_seeds; k++) {
        p->jobs[k].run = R;
        p->jobs[k].seed = R->ex.seeds[k];
        p->jobs[k].index = k;
    }
    void *(*fn)(void *) = R->f.source == SRC_LOGS ? run_seed_logs : run_seed;
    /* seeds run in waves of `threads`; each seed's objects are its own */
    for (uint32_t k0 = 0; k0 < n_seeds; k0 += R->ex.threads) {
        const uint32_t k1 = k0 + R->ex.threads < n_seeds ? k0 + R->ex.threads : n_seeds;
        int started[RECO_EXPERIMENT_MAX_SEEDS] = {0};
        for (uint32_t k = k0; k < k1; k++) {
            if (k1 - k0 == 1) { /* one seed at a time: on the calling thread */
                fn(&p->jobs[k]);
                continue;
            }
            started[k] = pthread_create(&threads[k], NULL, fn, &p->jobs[k]) == 0;
            if (!started[k]) {
                p->jobs[k].rc = RECO_ERROR;
                snprintf(p->jobs[k].err, sizeof p->jobs[k].err, "seed %llu: cannot start a "
                         "thread", (unsigned long long)p->jobs[k].seed);
            }
        }
        for (uint32_t k = k0; k < k1; k++)
            if (started[k])
                pthread_join(threads[k], NULL);
    }
    for (uint32_t k = 0; k < n_seeds; k++)
        if (p->jobs[k].rc != 0) {
            rc = reco__error_set(p->jobs[k].rc < 0 ? p->jobs[k].rc : RECO_ERROR, "%s",
                                 p->jobs[k].err);
            goto fail;
        }
    if (!p->fit_only) {
        const reco_eval **parts = reco__calloc(a, n_seeds, sizeof *parts);
        if (parts == NULL) {
            rc = RECO_ENOMEM;
            goto fail;
        }
        for (int e = 0; e < 2 && rc == RECO_OK; e++) {
            for (uint32_t k = 0; k < n_seeds; k++)
                parts[k] = p->jobs[k].ev[e];
            rc = reco_eval_concat(&p->pooled[e], parts, n_seeds);
        }
        reco__free(a, parts);
        if (rc < 0)
            goto fail;
    }
    reco__free(a, threads);
    pthread_mutex_destroy(&R->say_mu);
    reco__free(a, R);
    *out = p;
    return RECO_OK;
fail:
    reco_pipeline_free(p);
    reco__free(a, threads);
    if (R != NULL) {
        pthread_mutex_destroy(&R->say_mu);
        reco__free(a, R);
    }
    return rc;
}

/* ---- the result --------------------------------------------------------------------------- */

uint32_t reco_pipeline_n_seeds(const reco_pipeline *p)
{
    return p ? p->n_seeds : 0;
}

uint64_t reco_pipeline_seed(const reco_pipeline *p, uint32_t k)
{
    return p && k < p->n_seeds ? p->jobs[k].seed : 0;
}

const char *reco_pipeline_policy_name(uint32_t policy)
{
    return policy < N_POL ? pol_names[policy] : NULL;
}

const char *reco_pipeline_side_name(const reco_pipeline *p, reco_pipeline_side side)
{
    return p && (side == RECO_PIPELINE_SIM || side == RECO_PIPELINE_REAL) ? p->side_name[side]
                                                                          : NULL;
}

const char *reco_pipeline_output_name(const reco_pipeline *p, uint32_t h)
{
    return p && h <= p->n_signals ? p->out_names[h] : NULL;
}

const reco_eval *reco_pipeline_eval(const reco_pipeline *p, uint32_t k, reco_pipeline_side side)
{
    if (p == NULL || k > p->n_seeds || (side != RECO_PIPELINE_SIM && side != RECO_PIPELINE_REAL))
        return NULL;
    return k == p->n_seeds ? p->pooled[side] : p->jobs[k].ev[side];
}

int reco_pipeline_fit_report(reco_fit_report *out, const reco_pipeline *p, uint32_t k,
                             int heldout)
{
    if (out == NULL || p == NULL || k >= p->n_seeds)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_fit_report: NULL argument or seed "
                               "index %u out of range", k);
    int rc = reco__check_version(out->version, RECO_FIT_REPORT_VERSION, "reco_fit_report");
    if (rc < 0)
        return rc;
    const reco_fit_report *r = heldout ? &p->jobs[k].heldout_fit : &p->jobs[k].fit;
    const size_t size = out->version >= 2 ? sizeof *out
                                          : offsetof(reco_fit_report, has_oracle);
    const unsigned int v = out->version;
    memcpy(out, r, size);
    out->version = v;
    out->history_cap = 0;
    out->train_loss = out->valid_loss = NULL;
    return RECO_OK;
}

uint32_t reco_pipeline_curve(reco_pipeline_point *out, uint32_t cap, const reco_pipeline *p,
                             uint32_t k)
{
    if (p == NULL || k >= p->n_seeds || (out == NULL && cap > 0))
        return 0;
    const seed_job *j = &p->jobs[k];
    for (uint32_t i = 0; i < j->n_curve && i < cap; i++)
        out[i] = j->curve[i];
    return j->n_curve;
}

uint32_t reco_pipeline_heldout_curve(double *out, uint32_t cap, const reco_pipeline *p,
                                     uint32_t k)
{
    if (p == NULL || k >= p->n_seeds || (out == NULL && cap > 0))
        return 0;
    const seed_job *j = &p->jobs[k];
    for (uint32_t i = 0; i < j->n_curve && i < cap; i++)
        out[i] = j->heldout_curve[i];
    return j->n_curve;
}

int reco_pipeline_training(uint64_t *trained_out, uint64_t *kept_out, const reco_pipeline *p,
                           uint32_t k)
{
    if (p == NULL || k >= p->n_seeds || p->fit_only)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_training: NULL result, seed index "
                               "%u out of range, or a fit-only run", k);
    if (trained_out != NULL)
        *trained_out = p->jobs[k].trained;
    if (kept_out != NULL)
        *kept_out = p->jobs[k].kept;
    return RECO_OK;
}

/* sin and cos of theta in [0, pi/2] from the library's own cos (lib/detmath_private.h) and
 * the exactly rounded sqrt: the same bits on every CPU (docs/determinism.md). */
static void sin_cos_quarter(double *sn, double *c, double theta)
{
    *c = reco__cos(theta);
    *sn = sqrt(fmax(0.0, 1.0 - *c * *c));
}

/* The integral of cos^n over [0, theta] (theta in [0, pi/2]), by the reduction
 * I_n = cos^(n-1) sin / n + (n-1)/n I_(n-2), I_0 = theta, I_1 = sin. */
static double int_cos_pow(uint32_t n, double theta)
{
    double c, sn;
    sin_cos_quarter(&sn, &c, theta);
    double acc = n % 2 ? sn : theta;
    double cp = n % 2 ? c * c : c; /* cos^(m-1) for the first m */
    for (uint32_t m = n % 2 ? 3 : 2; m <= n; m += 2) {
        acc = cp * sn / m + (double)(m - 1) / m * acc;
        cp *= c * c;
    }
    return acc;
}

/* P(|T| <= t) for T ~ Student t with df degrees of freedom: with t = sqrt(df) tan(theta),
 * the density becomes c cos^(df-1)(theta) (c = Gamma((df+1)/2) / (sqrt(pi) Gamma(df/2))), so
 * P(0 <= T <= t) = c I_(df-1)(theta); the quantile is found by bisection on theta. The
 * Gamma ratio r(df) = Gamma((df+1)/2) / Gamma(df/2) comes from r(1) = 1/sqrt(pi),
 * r(2) = sqrt(pi)/2 and r(df + 2) = r(df) (df + 1) / df, without libm's lgamma. */
double reco_pipeline_t_quantile(double confidence, uint32_t df)
{
    if (!(confidence > 0.0 && confidence < 1.0) || df < 1)
        return NAN;
    const double pi = 3.14159265358979323846;
    const double sqrt_pi = sqrt(pi);
    double r = df % 2 ? 1.0 / sqrt_pi : 0.5 * sqrt_pi;
    for (uint32_t d = df % 2 ? 1 : 2; d + 2 <= df; d += 2)
        r *= (d + 1.0) / d;
    const double c = r / sqrt_pi;
    double lo = 0.0, hi = 0.5 * pi;
    for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
        const double mid = 0.5 * (lo + hi);
        if (c * int_cos_pow(df - 1, mid) < 0.5 * confidence)
            lo = mid;
        else
            hi = mid;
    }
    double sn, cs;
    sin_cos_quarter(&sn, &cs, 0.5 * (lo + hi));
    return sqrt((double)df) * sn / cs;
}

/* mean and t interval of the finite values of x[0..n) at `confidence` (NaN ends below two). */
static reco_eval_stat t_interval(const double *x, uint32_t n, double confidence)
{
    reco_eval_stat s = {NAN, NAN, NAN, 0};
    double sum = 0.0;
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (isfinite(x[i])) {
            sum += x[i];
            m++;
        }
    s.n = m;
    if (m == 0)
        return s;
    s.mean = sum / m;
    if (m < 2)
        return s;
    double ss = 0.0;
    for (uint32_t i = 0; i < n; i++)
        if (isfinite(x[i]))
            ss += (x[i] - s.mean) * (x[i] - s.mean);
    const double half = reco_pipeline_t_quantile(confidence, m - 1) * sqrt(ss / (m - 1) / m);
    s.lo = s.mean - half;
    s.hi = s.mean + half;
    return s;
}

static int over_seeds_args(const reco_pipeline *p, reco_pipeline_side side, uint32_t policy,
                           uint32_t baseline, uint32_t metric, const char *fn)
{
    if (p == NULL || p->fit_only || (side != RECO_PIPELINE_SIM && side != RECO_PIPELINE_REAL))
        return reco__error_set(RECO_EINVAL, "%s: NULL result, a fit-only run, or side %d is "
                               "not a side", fn, (int)side);
    if (policy >= N_POL || baseline >= N_POL)
        return reco__error_set(RECO_EINVAL, "%s: policy %u or baseline %u is not below %d", fn,
                               policy, baseline, N_POL);
    if (metric >= reco_eval_n_metrics(p->pooled[side]))
        return reco__error_set(RECO_EINVAL, "%s: unknown metric %u (the evaluations have %u)",
                               fn, metric, reco_eval_n_metrics(p->pooled[side]));
    return RECO_OK;
}

int reco_pipeline_lift_over_seeds(reco_eval_stat *relative_out, reco_eval_stat *difference_out,
                                  const reco_pipeline *p, reco_pipeline_side side,
                                  uint32_t policy, uint32_t baseline, uint32_t metric)
{
    int rc = over_seeds_args(p, side, policy, baseline, metric,
                             "reco_pipeline_lift_over_seeds");
    if (rc < 0)
        return rc;
    double rel[RECO_EXPERIMENT_MAX_SEEDS], dif[RECO_EXPERIMENT_MAX_SEEDS];
    for (uint32_t k = 0; k < p->n_seeds; k++) {
        reco_eval_stat r, d;
        rc = reco_eval_lift(&r, &d, p->jobs[k].ev[side], policy, baseline,
                            (reco_eval_metric)metric);
        if (rc < 0)
            return rc;
        rel[k] = r.mean;
        dif[k] = d.mean;
    }
    const double conf = reco_eval_confidence(p->pooled[side]);
    if (relative_out != NULL)
        *relative_out = t_interval(rel, p->n_seeds, conf);
    if (difference_out != NULL)
        *difference_out = t_interval(dif, p->n_seeds, conf);
    return RECO_OK;
}

int reco_pipeline_stat_over_seeds(reco_eval_stat *out, const reco_pipeline *p,
                                  reco_pipeline_side side, uint32_t policy, uint32_t metric)
{
    int rc = over_seeds_args(p, side, policy, 0, metric, "reco_pipeline_stat_over_seeds");
    if (rc == RECO_OK && out == NULL)
        rc = reco__error_set(RECO_EINVAL, "reco_pipeline_stat_over_seeds: out is NULL");
    if (rc < 0)
        return rc;
    double v[RECO_EXPERIMENT_MAX_SEEDS];
    for (uint32_t k = 0; k < p->n_seeds; k++) {
        reco_eval_stat st;
        rc = reco_eval_stat_get(&st, p->jobs[k].ev[side], policy, (reco_eval_metric)metric);
        if (rc < 0)
            return rc;
        v[k] = st.mean;
    }
    *out = t_interval(v, p->n_seeds, reco_eval_confidence(p->pooled[side]));
    return RECO_OK;
}

/* The simulator's relative error on a policy's mean return, (sim - real) / real, with a
 * delta-method interval (the two environments' sessions are independent). */
static reco_pipeline_fidelity fidelity_of(const reco_eval *sim, const reco_eval *real,
                                          uint32_t policy, double z)
{
    reco_eval_stat a, b;
    reco_eval_stat_get(&a, sim, policy, RECO_EVAL_RETURN);
    reco_eval_stat_get(&b, real, policy, RECO_EVAL_RETURN);
    reco_pipeline_fidelity f;
    f.sim = a.mean;
    f.real = b.mean;
    f.rel = a.mean / b.mean - 1.0;
    /* var(s / w) ~ var(s) / w^2 + s^2 var(w) / w^4, the standard errors from the intervals */
    const double se_a = (a.hi - a.lo) / (2.0 * z), se_b = (b.hi - b.lo) / (2.0 * z);
    const double se = sqrt(se_a * se_a / (b.mean * b.mean) +
                           a.mean * a.mean * se_b * se_b / (b.mean * b.mean * b.mean * b.mean));
    f.lo = f.rel - z * se;
    f.hi = f.rel + z * se;
    return f;
}

int reco_pipeline_fidelity_get(reco_pipeline_fidelity *out, const reco_pipeline *p, uint32_t k,
                               uint32_t policy)
{
    if (out == NULL || p == NULL || k > p->n_seeds || policy >= N_POL || p->fit_only)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_fidelity_get: NULL argument, index "
                               "out of range, or a fit-only run");
    const reco_eval *se = reco_pipeline_eval(p, k, RECO_PIPELINE_SIM);
    const reco_eval *we = reco_pipeline_eval(p, k, RECO_PIPELINE_REAL);
    *out = fidelity_of(se, we, policy, normal_z(reco_eval_confidence(p->pooled[1])));
    return RECO_OK;
}

int reco_pipeline_off_policy(reco_ope_result *out, const reco_pipeline *p, uint32_t k,
                             uint32_t policy)
{
    static const char fn[] = "reco_pipeline_off_policy";
    if (out == NULL || p == NULL || k >= p->n_seeds || policy >= N_POL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument, seed or policy out of range",
                               fn);
    int rc = reco__check_version(out->version, RECO_OPE_RESULT_VERSION, "reco_ope_result");
    if (rc < 0)
        return rc;
    if (p->fit_only || !p->jobs[k].have_ope)
        return reco__error_set(RECO_EINVAL, "%s: seed %u has no off-policy estimates (a "
                               "fit-only run, the logs alone, or its off-policy log failed)",
                               fn, k);
    const unsigned int v = out->version;
    *out = p->jobs[k].ope[policy];
    out->version = v;
    return RECO_OK;
}

int reco_pipeline_logged(reco_eval_stat *return_out, reco_eval_stat *depth_out,
                         const reco_pipeline *p, uint32_t k)
{
    if (p == NULL || k >= p->n_seeds || p->source != SRC_LOGS)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_logged: NULL result, seed index "
                               "out of range, or a run that is not on logs");
    if (return_out != NULL)
        *return_out = p->jobs[k].logged_return;
    if (depth_out != NULL)
        *depth_out = p->jobs[k].logged_depth;
    return RECO_OK;
}

uint32_t reco_pipeline_n_calibration(const reco_pipeline *p, uint32_t k)
{
    return p && k < p->n_seeds ? p->jobs[k].have_cal : 0;
}

int reco_pipeline_calibration(double *model_out, double *truth_out, const reco_pipeline *p,
                              uint32_t k, uint32_t row)
{
    if (model_out == NULL || truth_out == NULL || p == NULL || k >= p->n_seeds ||
        row >= p->jobs[k].have_cal)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_calibration: NULL argument or "
                               "index out of range");
    memcpy(model_out, p->jobs[k].cal_model[row], (p->n_signals + 1) * sizeof(double));
    memcpy(truth_out, p->jobs[k].cal_true[row], (p->n_signals + 1) * sizeof(double));
    return RECO_OK;
}

int reco_pipeline_save_qnet(const reco_pipeline *p, uint32_t k, const char *path)
{
    if (p == NULL || k >= p->n_seeds || path == NULL || p->jobs[k].qnet == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_save_qnet: NULL argument, seed "
                               "index out of range, or no trained Q-network (a fit-only run)");
    const seed_job *j = &p->jobs[k];
    if (j->best == NULL)
        return reco_qnet_save(j->qnet, path);
    /* the kept snapshot: a model checkpoint, ranked by its last head (the Q head) */
    return reco_model_save(j->best, path, 0);
}

/* ---- the reports ------------------------------------------------------------------------ */

/* The environments of the reports, in the 0.1 order: each side's seeds, then its pool. */
static int report_envs(const reco_eval **evs, char (*names)[80], const reco_pipeline *p)
{
    uint32_t n = 0;
    for (int e = 0; e < 2; e++) {
        for (uint32_t k = 0; k < p->n_seeds; k++) {
            evs[n] = p->jobs[k].ev[e];
            snprintf(names[n], 80, "%s (seed %llu)", p->side_name[e],
                     (unsigned long long)p->jobs[k].seed);
            n++;
        }
        evs[n] = p->pooled[e];
        snprintf(names[n], 80, "%s (pooled)", p->side_name[e]);
        n++;
    }
    return (int)n;
}

typedef int (*eval_writer)(const reco_eval *const *, const char *const *, uint32_t,
                           const char *const *, uint32_t, const char *);

static int write_evals(const reco_pipeline *p, const char *path, eval_writer fn,
                       const char *what)
{
    if (p == NULL || path == NULL || p->fit_only)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument or a fit-only run", what);
    const reco_allocator *a = &p->alloc;
    const size_t n_env = 2 * (size_t)p->n_seeds + 2;
    const reco_eval **evs = reco__calloc(a, n_env, sizeof *evs);
    char(*names)[80] = reco__calloc(a, n_env, sizeof *names);
    const char **np = reco__calloc(a, n_env, sizeof *np);
    int rc = evs && names && np ? RECO_OK : RECO_ENOMEM;
    if (rc == RECO_OK) {
        const int n = report_envs(evs, names, p);
        for (int i = 0; i < n; i++)
            np[i] = names[i];
        rc = fn(evs, np, (uint32_t)n, pol_names, BASELINE, path);
    }
    reco__free(a, evs);
    reco__free(a, names);
    reco__free(a, np);
    return rc;
}

/* A number as the evaluator's report writes it (exact, null when not finite). */
static void json_exact(tbuf *t, double v)
{
    char buf[48];
    reco__eval_format_num(buf, sizeof buf, v);
    tb_printf(t, "%s", buf);
}

static void json_stat_exact(tbuf *t, const reco_eval_stat *s, int with_n)
{
    tb_printf(t, "{\"mean\": ");
    json_exact(t, s->mean);
    tb_printf(t, ", \"lo\": ");
    json_exact(t, s->lo);
    tb_printf(t, ", \"hi\": ");
    json_exact(t, s->hi);
    if (with_n)
        tb_printf(t, ", \"n\": %llu", (unsigned long long)s->n);
    tb_printf(t, "}");
}

/* The body of a "lifts" object over seeds: each policy but `baseline` (or only `only`). */
static void json_lifts_over_seeds(tbuf *t, const reco_pipeline *p, reco_pipeline_side side,
                                  uint32_t baseline, uint32_t only)
{
    const reco_eval *ev = p->pooled[side];
    int first = 1;
    for (uint32_t pi = 0; pi < N_POL; pi++) {
        if (pi == baseline || (only < N_POL && pi != only))
            continue;
        tb_printf(t, "%s\n        \"%s\": {", first ? "" : ",", pol_names[pi]);
        first = 0;
        const char *sep = "";
        for (uint32_t m = 0; m < reco_eval_n_metrics(ev); m++) {
            if (!reco__eval_metric_listed(ev, m))
                continue;
            reco_eval_stat rel, dif;
            reco_pipeline_lift_over_seeds(&rel, &dif, p, side, pi, baseline, m);
            tb_printf(t, "%s\n          \"%s\": {\"relative\": ", sep,
                      reco_eval_metric_label(ev, m));
            sep = ",";
            json_stat_exact(t, &rel, 0);
            tb_printf(t, ", \"difference\": ");
            json_stat_exact(t, &dif, 0);
            tb_printf(t, "}");
        }
        tb_printf(t, "\n        }");
    }
}

/* The entry "<side> (over seeds)": each policy's metrics and lifts with t intervals over the
 * seeds (the seeds' means or lifts as the sample), RecoMind's lifts over warm-start too. */
static void json_over_seeds(tbuf *t, const reco_pipeline *p, reco_pipeline_side side)
{
    const reco_eval *ev = p->pooled[side];
    tb_printf(t, ",\n    \"%s (over seeds)\": {\n      \"seeds\": %u,\n      "
              "\"interval\": \"t over seeds\",\n      \"policies\": {", p->side_name[side],
              p->n_seeds);
    for (uint32_t pi = 0; pi < N_POL; pi++) {
        tb_printf(t, "%s\n        \"%s\": {", pi ? "," : "", pol_names[pi]);
        const char *sep = "";
        for (uint32_t m = 0; m < reco_eval_n_metrics(ev); m++) {
            if (!reco__eval_metric_listed(ev, m))
                continue;
            reco_eval_stat st;
            reco_pipeline_stat_over_seeds(&st, p, side, pi, m);
            tb_printf(t, "%s\n          \"%s\": ", sep, reco_eval_metric_label(ev, m));
            sep = ",";
            json_stat_exact(t, &st, 1);
        }
        tb_printf(t, "\n        }");
    }
    tb_printf(t, "\n      },\n      \"lifts\": {");
    json_lifts_over_seeds(t, p, side, BASELINE, N_POL);
    tb_printf(t, "\n      },\n      \"control\": \"%s\",\n      \"control_lifts\": {",
              pol_names[WARM]);
    json_lifts_over_seeds(t, p, side, WARM, RECOMIND);
    tb_printf(t, "\n      }\n    }");
}

/* The evaluator's report of every environment, with the control lifts and the entries over
 * seeds after each side's pooled one. */
static int write_json_envs(const reco_pipeline *p, const char *path)
{
    if (p == NULL || path == NULL || p->fit_only)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_write_json: NULL argument or a "
                               "fit-only run");
    const reco_allocator *a = &p->alloc;
    const size_t n_env = 2 * (size_t)p->n_seeds + 2;
    const reco_eval **evs = reco__calloc(a, n_env, sizeof *evs);
    char(*names)[80] = reco__calloc(a, n_env, sizeof *names);
    const char **np = reco__calloc(a, n_env, sizeof *np);
    const char **after = reco__calloc(a, n_env, sizeof *after);
    unsigned char *control = reco__calloc(a, n_env, 1);
    tbuf over[2] = {{a, NULL, 0, 0, 0}, {a, NULL, 0, 0, 0}};
    int rc = evs && names && np && after && control ? RECO_OK : RECO_ENOMEM;
    if (rc == RECO_OK) {
        const int n = report_envs(evs, names, p);
        for (int i = 0; i < n; i++) {
            np[i] = names[i];
            control[i] = 1;
        }
        for (int e = 0; e < 2; e++) {
            json_over_seeds(&over[e], p, (reco_pipeline_side)e);
            if (over[e].err)
                rc = RECO_ENOMEM;
            /* after each side's pooled entry */
            after[(size_t)(e + 1) * (p->n_seeds + 1) - 1] = over[e].s;
        }
        const reco__eval_json_extra x = {control, RECOMIND, WARM, after};
        if (rc == RECO_OK)
            rc = reco__eval_write_json_ext(evs, np, (uint32_t)n, pol_names, BASELINE, &x, path);
    }
    tb_free(&over[0]);
    tb_free(&over[1]);
    reco__free(a, evs);
    reco__free(a, names);
    reco__free(a, np);
    reco__free(a, after);
    reco__free(a, control);
    return rc;
}

int reco_pipeline_write_csv(const reco_pipeline *p, const char *path)
{
    return write_evals(p, path, reco_eval_write_csv, "reco_pipeline_write_csv");
}

/* "%.6g", or null for a number JSON cannot hold. */
static void json_num(tbuf *t, double v)
{
    if (isfinite(v))
        tb_printf(t, "%.6g", v);
    else
        tb_printf(t, "null");
}

static void json_fit(tbuf *t, const reco_fit_report *r, const reco_pipeline *p)
{
    tb_printf(t, "[");
    for (uint32_t h = 0; h < r->n_outputs; h++) {
        tb_printf(t, "%s\n        {\"signal\": \"%s\", \"auc\": ", h ? "," : "",
                  p->out_names[h]);
        json_num(t, r->model[h].auc);
        tb_printf(t, ", \"auc_popularity\": ");
        json_num(t, r->popularity[h].auc);
        tb_printf(t, ", \"auc_oracle\": ");
        json_num(t, r->oracle[h].auc);
        tb_printf(t, ", \"logloss\": ");
        json_num(t, r->model[h].log_loss);
        tb_printf(t, ", \"logloss_oracle\": ");
        json_num(t, r->oracle[h].log_loss);
        tb_printf(t, ", \"ece\": ");
        json_num(t, r->model[h].ece);
        tb_printf(t, "}");
    }
    tb_printf(t, "]");
}

static void json_fidelity(tbuf *t, const reco_eval *sim, const reco_eval *real, double z,
                          const char *real_key)
{
    tb_printf(t, "[");
    for (uint32_t pi = 0; pi < N_POL; pi++) {
        const reco_pipeline_fidelity x = fidelity_of(sim, real, pi, z);
        tb_printf(t, "%s\n        {\"policy\": \"%s\", \"sim_return\": ", pi ? "," : "",
                  pol_names[pi]);
        json_num(t, x.sim);
        tb_printf(t, ", \"%s\": ", real_key);
        json_num(t, x.real);
        tb_printf(t, ", \"rel_error\": ");
        json_num(t, x.rel);
        tb_printf(t, ", \"rel_error_lo\": ");
        json_num(t, x.lo);
        tb_printf(t, ", \"rel_error_hi\": ");
        json_num(t, x.hi);
        tb_printf(t, "}");
    }
    tb_printf(t, "]");
}

static void json_stat(tbuf *t, const reco_eval_stat *s)
{
    tb_printf(t, "{\"mean\": ");
    json_num(t, s->mean);
    tb_printf(t, ", \"lo\": ");
    json_num(t, s->lo);
    tb_printf(t, ", \"hi\": ");
    json_num(t, s->hi);
    tb_printf(t, "}");
}

static void json_ope_values(tbuf *t, const reco_ope_value *v)
{
    static const char *const est[RECO_OPE_N_ESTIMATORS] = {"ips", "snips", "dr"};
    tb_printf(t, "{");
    for (int e = 0; e < RECO_OPE_N_ESTIMATORS; e++) {
        reco_eval_stat st = {v[e].value, v[e].lo, v[e].hi, 0};
        tb_printf(t, "%s\"%s\": ", e ? ", " : "", est[e]);
        json_stat(t, &st);
    }
    tb_printf(t, "}");
}

/* Each seed's off-policy estimates of every policy (docs/ope.md) beside its real return:
 * `covered` says whether the per-session DR interval holds the real mean return. */
static void json_off_policy(tbuf *t, const reco_pipeline *p, const char *real_key)
{
    tb_printf(t, ",\n  \"off_policy\": [");
    for (uint32_t k = 0; k < p->n_seeds; k++) {
        const seed_job *j = &p->jobs[k];
        tb_printf(t, "%s\n    {\"seed\": %llu, \"log_rows\": %llu, \"policies\": ",
                  k ? "," : "", (unsigned long long)j->seed,
                  (unsigned long long)j->ope_rows);
        if (!j->have_ope || j->ev[1] == NULL) {
            tb_printf(t, "null}");
            continue;
        }
        tb_printf(t, "[");
        for (uint32_t pi = 0; pi < N_POL; pi++) {
            const reco_ope_result *r = &j->ope[pi];
            reco_eval_stat real;
            reco_eval_stat_get(&real, j->ev[1], pi, RECO_EVAL_RETURN);
            const reco_ope_value *dr = &r->session[RECO_OPE_DR];
            tb_printf(t, "%s\n      {\"policy\": \"%s\", \"%s\": ", pi ? "," : "",
                      pol_names[pi], real_key);
            json_num(t, real.mean);
            tb_printf(t, ", \"session\": ");
            json_ope_values(t, r->session);
            tb_printf(t, ", \"step\": ");
            json_ope_values(t, r->step);
            tb_printf(t, ", \"ess\": ");
            json_num(t, r->ess);
            tb_printf(t, ", \"max_weight\": ");
            json_num(t, r->max_weight);
            tb_printf(t, ", \"covered\": %s}",
                      dr->lo <= real.mean && real.mean <= dr->hi ? "true" : "false");
        }
        tb_printf(t, "]}");
    }
    tb_printf(t, "]");
}

/* Reads a whole file into `t`. */
static int read_file(tbuf *t, const char *path)
{
    FILE *in = fopen(path, "rb");
    if (in == NULL)
        return reco__error_set(RECO_EIO, "%s: cannot read it back", path);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, in)) > 0)
        tb_printf(t, "%.*s", (int)got, chunk);
    const int bad = ferror(in);
    fclose(in);
    if (bad)
        return reco__error_set(RECO_EIO, "%s: cannot read it back", path);
    return t->err ? reco__error_set(t->err, "out of memory for %s", path) : RECO_OK;
}

int reco_pipeline_write_json(const reco_pipeline *p, const char *path)
{
    int rc = write_json_envs(p, path);
    if (rc < 0)
        return rc;
    /* the experiment's own sections after the evaluator's report: the object goes on */
    tbuf t = {&p->alloc, NULL, 0, 0, 0};
    rc = read_file(&t, path);
    while (rc == RECO_OK && t.len > 0 && (t.s[t.len - 1] == '\n' || t.s[t.len - 1] == ' '))
        t.len--;
    if (rc == RECO_OK && (t.len == 0 || t.s[t.len - 1] != '}'))
        rc = reco__error_set(RECO_EIO, "%s: not the evaluator's report", path);
    if (rc < 0) {
        tb_free(&t);
        return rc;
    }
    t.len--;
    const double z = normal_z(reco_eval_confidence(p->pooled[1]));
    const char *real_key = p->source == SRC_WORLD ? "world_return"
                           : p->source == SRC_ENV ? "env_return"
                                                  : "heldout_return";
    tb_printf(&t, ",\n  \"seeds\": [");
    for (uint32_t k = 0; k < p->n_seeds; k++) {
        tb_printf(&t, "%s\n    {\"seed\": %llu,\n      \"fit\": ", k ? "," : "",
                  (unsigned long long)p->jobs[k].seed);
        json_fit(&t, &p->jobs[k].fit, p);
        tb_printf(&t, ",\n      \"trained_updates\": %llu, \"kept_updates\": %llu",
                  (unsigned long long)p->jobs[k].trained, (unsigned long long)p->jobs[k].kept);
        tb_printf(&t, ",\n      \"fidelity\": ");
        json_fidelity(&t, p->jobs[k].ev[0], p->jobs[k].ev[1], z, real_key);
        tb_printf(&t, "}");
    }
    tb_printf(&t, "],\n  \"fidelity\": ");
    json_fidelity(&t, p->pooled[0], p->pooled[1], z, real_key);
    if (p->source == SRC_LOGS) {
        /* the logged sessions as the logging policy played them; the off-policy estimate of
         * each policy against them goes here once an estimator exists */
        tb_printf(&t, ",\n  \"logged\": [");
        for (uint32_t k = 0; k < p->n_seeds; k++) {
            tb_printf(&t, "%s\n    {\"seed\": %llu, \"sessions\": %llu, \"return\": ",
                      k ? "," : "", (unsigned long long)p->jobs[k].seed,
                      (unsigned long long)p->jobs[k].logged_return.n);
            json_stat(&t, &p->jobs[k].logged_return);
            tb_printf(&t, ", \"depth\": ");
            json_stat(&t, &p->jobs[k].logged_depth);
            tb_printf(&t, "}");
        }
        tb_printf(&t, "],\n  \"off_policy\": null");
    } else {
        json_off_policy(&t, p, real_key);
    }
    tb_printf(&t, "\n}\n");
    if (t.err) {
        tb_free(&t);
        return reco__error_set(t.err, "out of memory for %s", path);
    }
    reco__atomic_file f;
    rc = reco__atomic_open(&f, &p->alloc, path);
    if (rc == RECO_OK)
        rc = reco__atomic_commit(&f, reco__write_all(f.fd, t.s, t.len),
                                 "cannot write the results");
    tb_free(&t);
    return rc;
}

int reco_pipeline_write_curve(const reco_pipeline *p, const char *path)
{
    if (p == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_pipeline_write_curve: NULL argument");
    tbuf t = {&p->alloc, NULL, 0, 0, 0};
    tb_printf(&t, "seed,updates,greedy_q_sim_return,greedy_supervised_sim_return,loss,mean_q,"
                  "explore_return\n");
    for (uint32_t k = 0; k < p->n_seeds; k++)
        for (uint32_t i = 0; i < p->jobs[k].n_curve; i++) {
            const reco_pipeline_point *q = &p->jobs[k].curve[i];
            tb_printf(&t, "%llu,%llu,%.6f,%.6f,%.6g,%.6g,%.6g\n",
                      (unsigned long long)p->jobs[k].seed, (unsigned long long)q->updates,
                      q->greedy_q_return, p->jobs[k].greedy_sim_return, q->loss, q->mean_q,
                      q->explore_return);
        }
    if (t.err) {
        tb_free(&t);
        return reco__error_set(t.err, "out of memory for %s", path);
    }
    reco__atomic_file f;
    int rc = reco__atomic_open(&f, &p->alloc, path);
    if (rc == RECO_OK)
        rc = reco__atomic_commit(&f, reco__write_all(f.fd, t.s, t.len),
                                 "cannot write the learning curve");
    tb_free(&t);
    return rc;
}
