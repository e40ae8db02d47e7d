/* reco_trainer: generator threads stepping environments with policy snapshots and feeding a
 * replay buffer; the calling thread as the learner. Design in include/reco/trainer.h and
 * docs/trainer.md.
 *
 * Shared state (counters, snapshot, stop flag, hand-off token) lives under one mutex with
 * two condition variables: `cv_learner` (the learner waits for transitions) and `cv_gen`
 * (generators wait for a snapshot, for their turn, or for the stop). The replay buffer has
 * its own mutex; the environments, snapshots and explorers are per generator. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc_private.h"
#include "error_private.h"
#include "replay_private.h"
#include "reco/trainer.h"

#define MAX_GENERATORS 256u
#define MAX_SEGMENT 65536u
#define MSG_LEN 512

typedef struct gen {
    struct reco_trainer *t;
    uint32_t index;
    reco_env env;
    reco_model *snap;        /* this generator's copy of the online network */
    reco_explorer *ex;
    reco_rng users;
    uint64_t snap_updates;   /* learner updates the snapshot was published at */
    pthread_t thread;
    int started;
    /* round buffers */
    uint32_t *slots;         /* (S) 0..S-1 */
    uint64_t *user_ids;      /* (S) */
    uint32_t *reset_slots;   /* (S) */
    int32_t *obs_items;      /* (S, L) */
    uint32_t *obs_fb;        /* (S, L) */
    int32_t *cand;           /* (S, C) */
    uint32_t *counts;        /* (S) */
    float *scores;           /* (S, C) */
    uint32_t *choice;        /* (S) */
    float *probs;            /* (S) */
    int32_t *act;            /* (S) */
    uint32_t *fb;            /* (S) */
    float *rew;              /* (S) */
    int *done;               /* (S) */
    /* per-slot segment under construction */
    int32_t *hist_items;     /* (S, L) */
    uint32_t *hist_fb;       /* (S, L) */
    uint32_t *hist_len;      /* (S) */
    int32_t *seg_items;      /* (S, seg) */
    uint32_t *seg_fb;        /* (S, seg) */
    float *seg_rew;          /* (S, seg) */
    uint32_t *seg_n;         /* (S) */
    double *seg_lag;         /* (S) sum of the lags of the segment's steps */
    double *ret;             /* (S) return of the session so far */
} gen;

struct reco_trainer {
    reco_allocator alloc;
    reco_trainer_options o;  /* as created; allocator NULL, metrics_csv points to csv_path */
    char *csv_path;
    reco_qnet *q;
    reco_replay *replay;
    reco_model_options mo;   /* the online model's options */
    uint32_t L, S, C_gen, seg, q_head;
    int lockstep;
    int ran;
    gen *gens;
    reco_model *published;   /* the latest snapshot (under mu) */
    /* learner buffers */
    uint64_t *b_idx;
    int32_t *b_s_items, *b_n_items, *b_act, *b_cand;
    uint32_t *b_s_fb, *b_n_fb, *b_cand_u;
    float *b_rew, *b_w, *b_prio;
    uint8_t *b_done;
    reco_rng learner_rng;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_learner, cv_gen;
    uint64_t updates, pub_updates, inserted, sessions;
    uint32_t gens_done;
    int stop, learner_turn;
    int err_rc;
    char err_msg[MSG_LEN];
    double ret_sum, lag_sum, max_lag; /* interval sums of generator statistics */
    uint64_t ret_n, lag_n;
};

/* ---- options ---------------------------------------------------------------------------- */

int reco_trainer_options_init(reco_trainer_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_trainer_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_TRAINER_OPTIONS_VERSION, "reco_trainer_options");
    if (rc < 0)
        return rc;
    const reco_trainer_options d = RECO_TRAINER_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

static int bad(const char *field, const char *why)
{
    return reco__error_set(RECO_EINVAL, "reco_trainer_create: trainer.%s %s", field, why);
}

static int check_options(const reco_trainer_options *o, const reco_model_options *mo)
{
    if (o->n_generators < 1 || o->n_generators > MAX_GENERATORS)
        return bad("n_generators", "must be in 1..256");
    if (o->sessions_per_generator < 1 || o->sessions_per_generator > mo->max_batch)
        return bad("sessions_per_generator", "must be in 1..the model's max_batch");
    if (o->segment_len < 1 || o->segment_len > MAX_SEGMENT)
        return bad("segment_len", "must be in 1..65536");
    if (!(o->replay_ratio > 0.0 && o->replay_ratio <= 1e6))
        return bad("replay_ratio", "must be in (0, 1e6]");
    if (o->batch_size < 1 || o->batch_size > mo->max_batch)
        return bad("batch_size", "must be in 1..the model's max_batch");
    if (o->n_candidates < 1 || o->n_candidates > mo->max_candidates ||
        o->n_candidates > mo->n_items)
        return bad("n_candidates", "must be in 1..min(n_items, the model's max_candidates)");
    if (o->snapshot_period < 1 || (uint64_t)o->snapshot_period > (uint64_t)o->max_staleness + 1)
        return bad("snapshot_period", "must be in 1..max_staleness + 1");
    if (o->total_updates == 0 && o->total_transitions == 0)
        return bad("total_updates", "and total_transitions are both 0 (no stop condition)");
    if (o->n_users < 1 || o->n_users > (UINT64_C(1) << 63))
        return bad("n_users", "must be in 1..2^63");
    if (o->metrics_interval < 1 || o->metrics_interval > (UINT64_C(1) << 63))
        return bad("metrics_interval", "must be in 1..2^63");
    return RECO_OK;
}

/* ---- creation ----------------------------------------------------------------------------- */

static void gen_free_buffers(const reco_allocator *a, gen *g)
{
    void *bufs[] = {g->slots, g->user_ids, g->reset_slots, g->obs_items, g->obs_fb, g->cand,
                    g->counts, g->scores, g->choice, g->probs, g->act, g->fb, g->rew, g->done,
                    g->hist_items, g->hist_fb, g->hist_len, g->seg_items, g->seg_fb,
                    g->seg_rew, g->seg_n, g->seg_lag, g->ret};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        reco__free(a, bufs[i]);
    reco_explorer_free(g->ex);
    reco_model_free(g->snap);
}

void reco_trainer_free(reco_trainer *t)
{
    if (t == NULL)
        return;
    reco_allocator a = t->alloc;
    if (t->gens != NULL)
        for (uint32_t i = 0; i < t->o.n_generators; i++)
            gen_free_buffers(&a, &t->gens[i]);
    void *bufs[] = {t->gens, t->b_idx, t->b_s_items, t->b_n_items, t->b_act, t->b_cand,
                    t->b_s_fb, t->b_n_fb, t->b_cand_u, t->b_rew, t->b_w, t->b_prio,
                    t->b_done, t->csv_path};
    reco_model_free(t->published);
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        reco__free(&a, bufs[i]);
    pthread_cond_destroy(&t->cv_gen);
    pthread_cond_destroy(&t->cv_learner);
    pthread_mutex_destroy(&t->mu);
    reco__free(&a, t);
    reco__handle_release();
}

/* A model with the online network's architecture and parameters (one BLIS thread: each
 * generator is a thread already). */
static int new_copy(reco_model **out, const reco_trainer *t)
{
    reco_model_options mo = t->mo;
    mo.allocator = &t->alloc;
    mo.threads = 1;
    int rc = reco_model_create(out, &mo);
    if (rc < 0)
        return rc;
    rc = reco_model_copy_params(*out, reco_qnet_online(t->q));
    if (rc < 0) {
        reco_model_free(*out);
        *out = NULL;
    }
    return rc;
}

#define ALLOC_N(ptr, n)                                                                     \
    do {                                                                                    \
        if (((ptr) = reco__calloc(&t->alloc, (size_t)(n), sizeof *(ptr))) == NULL)          \
            return RECO_ENOMEM;                                                             \
    } while (0)

static int check_env(const reco_env *e, const reco_trainer *t, uint32_t g)
{
    if (e->version < 1 || e->version > RECO_ENV_VERSION)
        return reco__error_set(RECO_EVERSION, "reco_trainer_create: environment %u has "
                               "version %u", g, e->version);
    if (e->reset == NULL || e->observe == NULL || e->candidates == NULL || e->step == NULL)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: environment %u lacks a "
                               "callback", g);
    if (e->n_items != t->mo.n_items || e->lookback != t->L || e->user_dim != 0 ||
        e->max_sessions < t->S || e->n_signals > 16)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: environment %u does not fit "
                               "the model (n_items %u vs %u, lookback %u vs %u, user_dim %u "
                               "(must be 0), max_sessions %u < %u, or n_signals %u > 16)", g,
                               e->n_items, t->mo.n_items, e->lookback, t->L, e->user_dim,
                               e->max_sessions, t->S, e->n_signals);
    return RECO_OK;
}

static int gen_init(reco_trainer *t, gen *g, uint32_t index,
                    const reco_explorer_options *eo, reco_trainer_env_fn make_env,
                    void *env_payload)
{
    const size_t S = t->S, L = t->L, C = t->C_gen, seg = t->seg;
    g->t = t;
    g->index = index;
    int rc = make_env(&g->env, index, env_payload);
    if (rc < 0)
        return rc;
    if (rc > 0)
        return reco__error_set(RECO_ERROR, "reco_trainer_create: make_env returned %d", rc);
    if ((rc = check_env(&g->env, t, index)) < 0)
        return rc;
    if ((rc = new_copy(&g->snap, t)) < 0)
        return rc;
    reco_explorer_options e = *eo;
    e.allocator = &t->alloc;
    e.stream = index;
    if ((rc = reco_explorer_create(&g->ex, &e)) < 0)
        return rc;
    (void)reco_rng_seed(&g->users, t->o.seed, 2u * (uint64_t)index + 1u);
    ALLOC_N(g->slots, S);
    ALLOC_N(g->user_ids, S);
    ALLOC_N(g->reset_slots, S);
    ALLOC_N(g->obs_items, S * L);
    ALLOC_N(g->obs_fb, S * L);
    ALLOC_N(g->cand, S * C);
    ALLOC_N(g->counts, S);
    ALLOC_N(g->scores, S * C);
    ALLOC_N(g->choice, S);
    ALLOC_N(g->probs, S);
    ALLOC_N(g->act, S);
    ALLOC_N(g->fb, S);
    ALLOC_N(g->rew, S);
    ALLOC_N(g->done, S);
    ALLOC_N(g->hist_items, S * L);
    ALLOC_N(g->hist_fb, S * L);
    ALLOC_N(g->hist_len, S);
    ALLOC_N(g->seg_items, S * seg);
    ALLOC_N(g->seg_fb, S * seg);
    ALLOC_N(g->seg_rew, S * seg);
    ALLOC_N(g->seg_n, S);
    ALLOC_N(g->seg_lag, S);
    ALLOC_N(g->ret, S);
    for (uint32_t s = 0; s < S; s++)
        g->slots[s] = s;
    return RECO_OK;
}

static int learner_init(reco_trainer *t)
{
    const size_t B = t->o.batch_size, L = t->L, C = t->o.n_candidates;
    ALLOC_N(t->b_idx, B);
    ALLOC_N(t->b_s_items, B * L);
    ALLOC_N(t->b_s_fb, B * L);
    ALLOC_N(t->b_n_items, B * L);
    ALLOC_N(t->b_n_fb, B * L);
    ALLOC_N(t->b_act, B);
    ALLOC_N(t->b_rew, B);
    ALLOC_N(t->b_w, B);
    ALLOC_N(t->b_prio, B);
    ALLOC_N(t->b_done, B);
    ALLOC_N(t->b_cand, C);
    ALLOC_N(t->b_cand_u, C);
    (void)reco_rng_seed(&t->learner_rng, t->o.seed, 0);
    return RECO_OK;
}

int reco_trainer_create(reco_trainer **out, reco_qnet *qnet, reco_replay *replay,
                        const reco_explorer_options *explorer, reco_trainer_env_fn make_env,
                        void *env_payload, const reco_trainer_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: out is NULL");
    *out = NULL;
    if (qnet == NULL || replay == NULL || make_env == NULL)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: qnet, replay or make_env "
                               "is NULL");
    reco_trainer_options o = RECO_TRAINER_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_TRAINER_OPTIONS_VERSION,
                                     "reco_trainer_options");
        if (rc < 0)
            return rc;
        o = *opts; /* version 1 is the whole struct */
    }
    const reco_explorer_options eo_default = RECO_EXPLORER_OPTIONS_INIT;
    const reco_explorer_options *eo = explorer != NULL ? explorer : &eo_default;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    int rc = reco_model_get_options(&mo, reco_qnet_online(qnet));
    if (rc < 0)
        return rc;
    if ((rc = check_options(&o, &mo)) < 0)
        return rc;
    if (mo.user_dim != 0)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: models with user features "
                               "(user_dim %u) are not supported yet", mo.user_dim);
    if (replay->L != mo.lookback)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: the replay's lookback %u is "
                               "not the model's %u", replay->L, mo.lookback);
    if (eo->version < 1 || eo->version > RECO_EXPLORER_OPTIONS_VERSION)
        return reco__error_set(RECO_EVERSION, "reco_trainer_create: explorer options version "
                               "%u", eo->version);
    reco_allocator a;
    if ((rc = reco__allocator_resolve(&a, o.allocator)) < 0)
        return rc;
    reco_trainer *t = reco__calloc(&a, 1, sizeof *t);
    if (t == NULL)
        return RECO_ENOMEM;
    t->alloc = a;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        reco__free(&a, t);
        return reco__error_set(RECO_ERROR, "reco_trainer_create: pthread_mutex_init failed");
    }
    if (pthread_cond_init(&t->cv_learner, NULL) != 0) {
        pthread_mutex_destroy(&t->mu);
        reco__free(&a, t);
        return reco__error_set(RECO_ERROR, "reco_trainer_create: pthread_cond_init failed");
    }
    if (pthread_cond_init(&t->cv_gen, NULL) != 0) {
        pthread_cond_destroy(&t->cv_learner);
        pthread_mutex_destroy(&t->mu);
        reco__free(&a, t);
        return reco__error_set(RECO_ERROR, "reco_trainer_create: pthread_cond_init failed");
    }
    reco__handle_acquire(); /* released by reco_trainer_free() on the failure paths too */
    t->o = o;
    t->o.allocator = NULL;
    t->o.metrics_csv = NULL;
    t->q = qnet;
    t->replay = replay;
    t->mo = mo;
    t->L = mo.lookback;
    t->S = o.sessions_per_generator;
    t->seg = o.segment_len;
    t->C_gen = mo.max_candidates < eo->max_candidates ? mo.max_candidates : eo->max_candidates;
    t->q_head = reco_qnet_q_head(qnet);
    t->lockstep = o.n_generators == 1 && o.max_staleness == 0;
    if (o.metrics_csv != NULL) {
        if ((t->csv_path = reco__strdup(&a, o.metrics_csv)) == NULL) {
            reco_trainer_free(t);
            return RECO_ENOMEM;
        }
        t->o.metrics_csv = t->csv_path;
    }
    if ((rc = new_copy(&t->published, t)) < 0 || (rc = learner_init(t)) < 0) {
        reco_trainer_free(t);
        return rc;
    }
    t->gens = reco__calloc(&a, o.n_generators, sizeof *t->gens);
    if (t->gens == NULL) {
        reco_trainer_free(t);
        return RECO_ENOMEM;
    }
    for (uint32_t i = 0; i < o.n_generators; i++) {
        if ((rc = gen_init(t, &t->gens[i], i, eo, make_env, env_payload)) < 0) {
            reco_trainer_free(t);
            return rc;
        }
    }
    *out = t;
    return RECO_OK;
}

/* ---- shared state --------------------------------------------------------------------------- */

/* Updates the inserted transitions allow, without the total_updates cap (under mu). */
static uint64_t allowed_uncapped(const reco_trainer *t)
{
    const uint64_t start = t->o.warmup > t->o.batch_size ? t->o.warmup : t->o.batch_size;
    if (t->inserted < start)
        return 0;
    const double a = floor((double)(t->inserted - t->o.warmup) * t->o.replay_ratio);
    return a >= 1.8e19 ? UINT64_MAX : (uint64_t)a;
}

/* Updates the inserted transitions allow, capped at total_updates (under mu). */
static uint64_t allowed_updates(const reco_trainer *t)
{
    const uint64_t n = allowed_uncapped(t);
    return t->o.total_updates != 0 && n > t->o.total_updates ? t->o.total_updates : n;
}

static int can_update(const reco_trainer *t)
{
    return allowed_updates(t) > t->updates;
}

/* Records the first error (the calling thread's message) and stops everyone (under mu). */
static void fail_locked(reco_trainer *t, int rc)
{
    if (t->err_rc == 0) {
        t->err_rc = rc;
        snprintf(t->err_msg, sizeof t->err_msg, "%s", reco_error_message());
    }
    t->stop = 1;
    pthread_cond_broadcast(&t->cv_gen);
    pthread_cond_broadcast(&t->cv_learner);
}

/* ---- generator ------------------------------------------------------------------------------ */

static void draw_users(gen *g, const uint32_t *slots, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        g->user_ids[i] = reco_rng_below(&g->users, g->t->o.n_users);
    (void)slots;
}

/* Adds the segment of slot s to the replay; `ends` marks a user exit. */
static int flush_segment(gen *g, uint32_t s, int ends)
{
    const reco_trainer *t = g->t;
    const size_t L = t->L, seg = t->seg;
    reco_replay_segment sg = RECO_REPLAY_SEGMENT_INIT;
    sg.history_len = g->hist_len[s];
    sg.history_items = sg.history_len ? g->hist_items + s * L + (L - sg.history_len) : NULL;
    sg.history_feedback = sg.history_len ? g->hist_fb + s * L + (L - sg.history_len) : NULL;
    sg.n_steps = g->seg_n[s];
    sg.items = g->seg_items + s * seg;
    sg.feedback = g->seg_fb + s * seg;
    sg.rewards = g->seg_rew + s * seg;
    sg.ends_session = ends;
    return reco_replay_add_segment(NULL, g->t->replay, &sg);
}

/* One round: every slot takes one step. Adds finished segments to the replay and returns the
 * round's statistics through the out parameters. */
static int gen_round(gen *g, uint64_t lag, uint64_t *inserted, double *lag_sum, double *ret_sum,
                     uint64_t *finished)
{
    reco_trainer *t = g->t;
    const uint32_t S = t->S, L = t->L, C = t->C_gen, seg = t->seg;
    reco_env *e = &g->env;
    int rc = e->observe(g->obs_items, g->obs_fb, NULL, g->slots, S, e->payload);
    if (rc < 0)
        return rc;
    rc = e->candidates(g->cand, g->counts, C, g->slots, S, e->payload);
    if (rc < 0)
        return rc;
    for (uint32_t s = 0; s < S; s++) {
        if (g->counts[s] < 1 || g->counts[s] > C)
            return reco__error_set(RECO_EINVAL, "reco_trainer_run: generator %u: the "
                                   "environment gave %u candidates (1..%u expected)", g->index,
                                   g->counts[s], C);
        for (uint32_t c = g->counts[s]; c < C; c++)
            g->cand[(size_t)s * C + c] = g->cand[(size_t)s * C];
        if (g->seg_n[s] == 0) { /* a new segment: the window before it is its history */
            const int32_t *it = g->obs_items + (size_t)s * L;
            uint32_t first = 0;
            while (first < L && it[first] == RECO_PAD)
                first++;
            g->hist_len[s] = L - first;
            memcpy(g->hist_items + (size_t)s * L, it, L * sizeof *it);
            memcpy(g->hist_fb + (size_t)s * L, g->obs_fb + (size_t)s * L, L * sizeof(uint32_t));
        }
    }
    reco_batch b = RECO_BATCH_INIT;
    b.size = S;
    b.items = g->obs_items;
    b.feedback = g->obs_fb;
    b.n_candidates = C;
    b.candidates = g->cand;
    b.shared_candidates = 0;
    if ((rc = reco_model_score(g->scores, g->snap, NULL, &b, &t->q_head, 1)) < 0)
        return rc;
    for (uint32_t s = 0; s < S; s++)
        for (uint32_t c = g->counts[s]; c < C; c++)
            g->scores[(size_t)s * C + c] = -INFINITY;
    rc = reco_explorer_select(g->choice, g->probs, g->ex, g->scores, S, C, C);
    if (rc < 0)
        return rc;
    for (uint32_t s = 0; s < S; s++)
        g->act[s] = g->cand[(size_t)s * C + g->choice[s]];
    if ((rc = e->step(g->fb, g->rew, g->done, g->slots, g->act, S, e->payload)) < 0)
        return rc;
    uint32_t n_reset = 0;
    for (uint32_t s = 0; s < S; s++) {
        const uint32_t j = g->seg_n[s];
        g->seg_items[(size_t)s * seg + j] = g->act[s];
        g->seg_fb[(size_t)s * seg + j] = g->fb[s];
        g->seg_rew[(size_t)s * seg + j] = g->rew[s];
        g->seg_n[s] = j + 1;
        g->seg_lag[s] += (double)lag;
        g->ret[s] += g->rew[s];
        const int d = g->done[s];
        if (d != RECO_ENV_CONTINUE || g->seg_n[s] == seg) {
            if ((rc = flush_segment(g, s, d == RECO_ENV_EXIT)) < 0)
                return rc;
            *inserted += g->seg_n[s];
            *lag_sum += g->seg_lag[s];
            g->seg_n[s] = 0;
            g->seg_lag[s] = 0.0;
        }
        if (d != RECO_ENV_CONTINUE) {
            *ret_sum += g->ret[s];
            *finished += 1;
            g->ret[s] = 0.0;
            g->reset_slots[n_reset++] = s;
        }
    }
    if (n_reset > 0) {
        draw_users(g, g->reset_slots, n_reset);
        if ((rc = e->reset(g->reset_slots, g->user_ids, n_reset, e->payload)) < 0)
            return rc;
    }
    return RECO_OK;
}

static void *gen_main(void *arg)
{
    gen *g = arg;
    reco_trainer *t = g->t;
    int rc = RECO_OK;
    pthread_mutex_lock(&t->mu);
    if ((rc = reco_model_copy_params(g->snap, t->published)) < 0)
        fail_locked(t, rc);
    g->snap_updates = t->pub_updates;
    pthread_mutex_unlock(&t->mu);
    if (rc == RECO_OK) {
        draw_users(g, g->slots, t->S);
        rc = g->env.reset(g->slots, g->user_ids, t->S, g->env.payload);
        if (rc < 0) {
            pthread_mutex_lock(&t->mu);
            fail_locked(t, rc);
            pthread_mutex_unlock(&t->mu);
        }
    }
    while (rc == RECO_OK) {
        uint64_t lag = 0;
        pthread_mutex_lock(&t->mu);
        for (;;) {
            if (t->stop || (t->o.total_transitions != 0 &&
                            t->inserted >= t->o.total_transitions)) {
                rc = 1; /* done */
                break;
            }
            if (t->lockstep && t->learner_turn) {
                pthread_cond_wait(&t->cv_gen, &t->mu);
                continue;
            }
            if (t->pub_updates != g->snap_updates) {
                if ((rc = reco_model_copy_params(g->snap, t->published)) < 0) {
                    fail_locked(t, rc);
                    break;
                }
                g->snap_updates = t->pub_updates;
            }
            lag = t->updates - g->snap_updates;
            /* bounded staleness, and the replay ratio from the generators' side: the
             * learner's backlog of allowed updates stays within max_staleness */
            if (lag > t->o.max_staleness ||
                allowed_uncapped(t) > t->updates + t->o.max_staleness) {
                pthread_cond_wait(&t->cv_gen, &t->mu);
                continue;
            }
            break;
        }
        pthread_mutex_unlock(&t->mu);
        if (rc != RECO_OK)
            break;
        uint64_t inserted = 0, finished = 0;
        double lag_sum = 0.0, ret_sum = 0.0;
        rc = gen_round(g, lag, &inserted, &lag_sum, &ret_sum, &finished);
        pthread_mutex_lock(&t->mu);
        if (rc < 0) {
            fail_locked(t, rc);
        } else {
            t->inserted += inserted;
            t->lag_sum += lag_sum;
            t->lag_n += inserted;
            if (inserted > 0 && (double)lag > t->max_lag)
                t->max_lag = (double)lag;
            t->ret_sum += ret_sum;
            t->ret_n += finished;
            t->sessions += finished;
            if (t->lockstep && can_update(t))
                t->learner_turn = 1;
            if (inserted > 0)
                pthread_cond_broadcast(&t->cv_learner);
        }
        pthread_mutex_unlock(&t->mu);
    }
    pthread_mutex_lock(&t->mu);
    t->gens_done++;
    pthread_cond_broadcast(&t->cv_learner);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* ---- learner -------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct interval {
    double loss, q, td;
    uint64_t n;
    uint64_t last_updates, last_transitions;
    double last_time, start;
} interval;

/* Builds the metrics of the interval ending now and starts the next one (takes mu for the
 * generators' sums). */
static void take_metrics(reco_trainer_metrics *m, reco_trainer *t, interval *iv)
{
    const double now = now_s();
    pthread_mutex_lock(&t->mu);
    m->version = RECO_TRAINER_METRICS_VERSION;
    m->updates = t->updates;
    m->transitions = t->inserted;
    m->sessions = t->sessions;
    m->sim_return = t->ret_n ? t->ret_sum / (double)t->ret_n : 0.0;
    m->policy_lag = t->lag_n ? t->lag_sum / (double)t->lag_n : 0.0;
    t->ret_sum = t->lag_sum = 0.0;
    t->ret_n = t->lag_n = 0;
    pthread_mutex_unlock(&t->mu);
    m->loss = iv->n ? iv->loss / (double)iv->n : 0.0;
    m->mean_q = iv->n ? iv->q / (double)iv->n : 0.0;
    m->mean_abs_td = iv->n ? iv->td / (double)iv->n : 0.0;
    const double dt = now - iv->last_time;
    m->transitions_per_s = dt > 0 ? (double)(m->transitions - iv->last_transitions) / dt : 0.0;
    m->updates_per_s = dt > 0 ? (double)(m->updates - iv->last_updates) / dt : 0.0;
    m->elapsed_s = now - iv->start;
    iv->loss = iv->q = iv->td = 0.0;
    iv->n = 0;
    iv->last_updates = m->updates;
    iv->last_transitions = m->transitions;
    iv->last_time = now;
}

static int write_row(FILE *f, const reco_trainer_metrics *m)
{
    return fprintf(f, "%" PRIu64 ",%" PRIu64 ",%.9g,%.9g,%.9g,%.9g,%.9g,%.6g,%.6g\n",
                   m->updates, m->transitions, m->loss, m->mean_q, m->mean_abs_td,
                   m->sim_return, m->policy_lag, m->transitions_per_s, m->updates_per_s) < 0
               ? RECO_EIO
               : RECO_OK;
}

/* One learning step: sample, candidates for s', update, priorities. */
static int learn_step(reco_trainer *t, reco_qnet_update_info *info)
{
    const uint32_t B = t->o.batch_size, C = t->o.n_candidates;
    reco_replay_batch rb = RECO_REPLAY_BATCH_INIT;
    rb.indices = t->b_idx;
    rb.state_items = t->b_s_items;
    rb.state_feedback = t->b_s_fb;
    rb.actions = t->b_act;
    rb.rewards = t->b_rew;
    rb.next_items = t->b_n_items;
    rb.next_feedback = t->b_n_fb;
    rb.done = t->b_done;
    rb.weights = t->b_w;
    int rc = reco_replay_sample(&rb, t->replay, B);
    if (rc < 0)
        return rc;
    if ((rc = reco_rng_sample(t->b_cand_u, &t->learner_rng, t->mo.n_items, C)) < 0)
        return rc;
    for (uint32_t c = 0; c < C; c++)
        t->b_cand[c] = (int32_t)t->b_cand_u[c];
    reco_qnet_batch qb = RECO_QNET_BATCH_INIT;
    qb.size = B;
    qb.state_items = t->b_s_items;
    qb.state_feedback = t->b_s_fb;
    qb.actions = t->b_act;
    qb.rewards = t->b_rew;
    qb.next_items = t->b_n_items;
    qb.next_feedback = t->b_n_fb;
    qb.done = t->b_done;
    qb.weights = t->b_w;
    qb.n_candidates = C;
    qb.candidates = t->b_cand;
    qb.shared_candidates = 1;
    if ((rc = reco_qnet_update(info, t->b_prio, t->q, &qb)) < 0)
        return rc;
    return reco_replay_update_priorities(NULL, t->replay, t->b_idx, t->b_prio, B);
}

int reco_trainer_run(reco_trainer_report *report_out, reco_trainer *t)
{
    if (t == NULL)
        return reco__error_set(RECO_EINVAL, "reco_trainer_run: trainer is NULL");
    if (report_out != NULL) {
        int rc = reco__check_version(report_out->version, RECO_TRAINER_REPORT_VERSION,
                                     "reco_trainer_report");
        if (rc < 0)
            return rc;
    }
    if (t->ran)
        return reco__error_set(RECO_ESTATE, "reco_trainer_run: a trainer runs once");
    t->ran = 1;
    FILE *csv = NULL;
    if (t->csv_path != NULL) {
        csv = fopen(t->csv_path, "w");
        if (csv == NULL ||
            fputs("updates,transitions,loss,mean_q,mean_abs_td,sim_return,policy_lag,"
                  "transitions_per_s,updates_per_s\n", csv) < 0) {
            if (csv != NULL)
                fclose(csv);
            return reco__error_set(RECO_EIO, "reco_trainer_run: cannot write the metrics CSV "
                                   "'%s'", t->csv_path);
        }
    }
    interval iv;
    memset(&iv, 0, sizeof iv);
    iv.start = iv.last_time = now_s();
    /* the generators start from the online network as it is now */
    int rc = reco_model_copy_params(t->published, reco_qnet_online(t->q));
    t->pub_updates = t->updates = 0;
    uint32_t n_started = 0;
    for (uint32_t i = 0; rc == RECO_OK && i < t->o.n_generators; i++) {
        if (pthread_create(&t->gens[i].thread, NULL, gen_main, &t->gens[i]) != 0) {
            rc = reco__error_set(RECO_ERROR, "reco_trainer_run: pthread_create failed");
            break;
        }
        t->gens[i].started = 1;
        n_started++;
    }
    pthread_mutex_lock(&t->mu);
    if (rc < 0)
        fail_locked(t, rc);
    t->gens_done += t->o.n_generators - n_started;
    int stopped = 0, diverged = 0, wrote_row = 0;
    reco_trainer_metrics last = {RECO_TRAINER_METRICS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    while (!t->stop) {
        while (!t->stop && !can_update(t) && t->gens_done < t->o.n_generators) {
            if (t->lockstep && t->learner_turn) {
                t->learner_turn = 0;
                pthread_cond_broadcast(&t->cv_gen);
            }
            pthread_cond_wait(&t->cv_learner, &t->mu);
        }
        if (t->stop || !can_update(t))
            break;
        pthread_mutex_unlock(&t->mu);
        reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
        rc = learn_step(t, &info);
        pthread_mutex_lock(&t->mu);
        if (rc < 0) {
            diverged = rc == RECO_ESTATE && strstr(reco_error_message(), "diverged") != NULL;
            fail_locked(t, rc);
            break;
        }
        t->updates++;
        iv.loss += info.loss;
        iv.q += info.mean_q;
        iv.td += info.mean_abs_td;
        iv.n++;
        if (!t->lockstep)
            pthread_cond_broadcast(&t->cv_gen); /* throttled generators may go on */
        if (t->updates % t->o.snapshot_period == 0) {
            if ((rc = reco_model_copy_params(t->published, reco_qnet_online(t->q))) < 0) {
                fail_locked(t, rc);
                break;
            }
            t->pub_updates = t->updates;
            pthread_cond_broadcast(&t->cv_gen);
        }
        if (t->o.total_updates != 0 && t->updates >= t->o.total_updates)
            break;
        if (t->updates % t->o.metrics_interval == 0) {
            pthread_mutex_unlock(&t->mu);
            take_metrics(&last, t, &iv);
            wrote_row = 1;
            int wrc = csv != NULL ? write_row(csv, &last) : RECO_OK;
            int stop = t->o.progress != NULL ? t->o.progress(&last, t->o.progress_payload) : 0;
            pthread_mutex_lock(&t->mu);
            if (wrc < 0) {
                reco__error_set(RECO_EIO, "reco_trainer_run: cannot write the metrics CSV '%s'",
                                t->csv_path);
                fail_locked(t, RECO_EIO);
                break;
            }
            if (stop != 0) {
                stopped = 1;
                break;
            }
        }
    }
    t->stop = 1;
    pthread_cond_broadcast(&t->cv_gen);
    pthread_mutex_unlock(&t->mu);
    for (uint32_t i = 0; i < t->o.n_generators; i++)
        if (t->gens[i].started) {
            pthread_join(t->gens[i].thread, NULL);
            t->gens[i].started = 0;
        }
    /* a last row for the updates since the previous one (or the only row) */
    if (iv.n > 0 || !wrote_row) {
        take_metrics(&last, t, &iv);
        if (csv != NULL && write_row(csv, &last) < 0 && t->err_rc == 0) {
            t->err_rc = RECO_EIO;
            snprintf(t->err_msg, sizeof t->err_msg, "reco_trainer_run: cannot write the "
                     "metrics CSV '%s'", t->csv_path);
        }
    }
    if (csv != NULL && fclose(csv) != 0 && t->err_rc == 0) {
        t->err_rc = RECO_EIO;
        snprintf(t->err_msg, sizeof t->err_msg, "reco_trainer_run: cannot write the metrics "
                 "CSV '%s'", t->csv_path);
    }
    if (report_out != NULL) {
        const unsigned int v = report_out->version;
        memset(report_out, 0, sizeof *report_out);
        report_out->version = v;
        report_out->updates = t->updates;
        report_out->transitions = t->inserted;
        report_out->sessions = t->sessions;
        report_out->max_policy_lag = t->max_lag;
        report_out->wall_s = now_s() - iv.start;
        report_out->stopped = stopped;
        report_out->last = last;
    }
    if (t->err_rc != 0) {
        if (diverged)
            (void)reco_qnet_restore_last_good(t->q); /* fails only before any update */
        return reco__error_set(t->err_rc, "%s", t->err_msg);
    }
    return RECO_OK;
}
