/* reco_trainer: generator threads stepping environments with policy snapshots and feeding a
 * replay buffer; the calling thread as the learner. Design in include/reco/trainer.h and
 * docs/trainer.md.
 *
 * Shared state (counters, snapshot, stop flag, hand-off token) lives under one mutex with
 * two condition variables: `cv_learner` (the learner waits for transitions) and `cv_gen`
 * (generators wait for a snapshot, for their turn, for their outbox, for the end of a
 * checkpoint, or for the stop). The environments, snapshots and explorers are per generator.
 *
 * The generator/learner boundary is the byte formats of reco/wire.h: a generator encodes the
 * segments it finishes in a round into its outbox (reco_segment_encode) and posts the box at
 * the end of the round (a pointer swap under mu; it waits while its previous box is still
 * undrained); the learner drains posted boxes (another swap), decodes them
 * (reco_segment_decode) and adds the segments to the replay, which only the learner touches.
 * Snapshots go the other way as "RPRM" bytes (reco_model_params_encode into a spare buffer
 * outside mu, swapped in under mu; generators decode them under mu).
 *
 * The session context. Generators read their states with reco__states_observe() (the
 * window, the user features and, from a version-3 env, the steps, elapsed seconds and
 * long-term history; without context() the steps are the generator's own counts). When the
 * replay stores the context, each segment records its first step, the elapsed time at each
 * state and after its last step (context() of the flushed slots right after the step, before
 * any reset), the user features and the long-term history, and travels as a version-2
 * segment (wire format 2); the learner samples version-2 batches. Without a context in the
 * replay the generators send version-1 segments, as before. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc_private.h"
#include "error_private.h"
#include "file_private.h"
#include "env_private.h"
#include "qnet_private.h"
#include "replay_private.h"
#include "runner_private.h"
#include "state_private.h"
#include "wire_private.h"
#include "reco/trainer.h"
#include "reco/wire.h"

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
    /* outboxes of encoded segments (box_cap bytes each): `box` is filled during a round,
     * `posted` waits for the learner (posted_len > 0) */
    unsigned char *box, *posted;
    size_t box_len, posted_len;
    /* the session loop (lib/runner.c) with the explorer as its policy; the rounds' steps
     * reach the segments below through its sink */
    reco__runner *run;
    reco_policy pol;
    reco__sink sink;
    char fn[64];             /* "reco_trainer_run: generator N", for messages */
    uint64_t n_started;      /* sessions started, the schedule's session numbers */
    /* the round in progress: its lag and what it adds to the totals */
    uint64_t r_lag, r_inserted, r_finished;
    double r_lag_sum, r_ret_sum;
    /* the policy's buffers */
    int32_t *cand;           /* (S, C) candidates, short rows padded with their first */
    float *scores;           /* (S, C) */
    uint32_t *choice;        /* (S) */
    float *probs;            /* (S) */
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
    uint32_t *steps;         /* (S) steps taken in the slot's session (known_steps) */
    /* the segment's session context (filled when the replay stores one) */
    uint32_t *seg_first;     /* (S) steps of the session before the segment */
    float *seg_el;           /* (S, seg + 1) elapsed seconds at each state, then after */
    float *seg_user;         /* (S, U) */
    int32_t *seg_long;       /* (S, Hr) */
    uint32_t *seg_long_fb;   /* (S, Hr) */
    uint32_t *flush_slots;   /* (S) slots whose segment ends this round */
    float *post_el;          /* (S) their elapsed seconds after the step */
} gen;

struct reco_trainer {
    reco_allocator alloc;
    reco_trainer_options o;  /* as created; allocator NULL, metrics_csv points to csv_path */
    char *csv_path;
    reco_qnet *q;
    reco_replay *replay;
    reco_model_options mo;   /* the online model's options */
    uint32_t L, S, C_gen, seg, q_head;
    int ctx;                 /* the replay stores the session context */
    uint32_t U, Hr;          /* user features; the replay's long-term history (0 without ctx) */
    int lockstep;
    int ran;
    gen *gens;
    /* the latest snapshot as "RPRM" bytes (under mu), and the learner's spare buffer */
    unsigned char *pub, *pub_spare;
    size_t pub_len;
    size_t box_cap;          /* bytes of one outbox: S encoded segments of the longest kind */
    unsigned char *drain;    /* the learner's outbox, swapped with a posted one */
    int32_t *d_items, *d_hist_items, *d_long;
    uint32_t *d_fb, *d_hist_fb, *d_long_fb;
    float *d_rew, *d_el, *d_user;
    reco_segment_arrays d_arrays; /* the d_* arrays, for reco_segment_decode_ex */
    char *ckpt_dir;          /* copy of checkpoint_dir */
    char *ckpt_path;         /* scratch for paths under ckpt_dir */
    char prev_files[2][48];  /* component files of the last complete checkpoint, or "" */
    int resumed, broken;
    /* state restored by reco_trainer_resume() for reco_trainer_run() */
    double res_sums[3];      /* interval sums: loss, q, td */
    uint64_t res_iv[3];      /* interval: n, last_updates, last_transitions */
    uint64_t res_csv_offset;
    int res_csv_valid;
    /* learner buffers */
    uint64_t *b_idx;
    int32_t *b_s_items, *b_n_items, *b_act, *b_cand, *b_long;
    uint32_t *b_s_fb, *b_n_fb, *b_cand_u, *b_s_steps, *b_n_steps, *b_long_fb;
    float *b_rew, *b_w, *b_prio, *b_user, *b_s_el, *b_n_el;
    uint8_t *b_done;
    reco_rng learner_rng;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv_learner, cv_gen;
    uint64_t updates, pub_updates, inserted, sessions;
    uint64_t ingested;       /* transitions the learner added to the replay */
    uint32_t gens_done;
    uint32_t n_running;      /* generators inside a round or starting (not between rounds) */
    uint32_t n_posted;       /* posted outboxes not yet drained */
    int stop, learner_turn, pause;
    uint64_t pub_pending;    /* lock-step: the update whose publication waits for the turn's
                              * end (0: none) */
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
    if (o->checkpoint_every > 0 && (o->checkpoint_dir == NULL || o->checkpoint_dir[0] == '\0'))
        return bad("checkpoint_dir", "is needed when checkpoint_every is set");
    if (o->checkpoint_dir != NULL && strlen(o->checkpoint_dir) > 4000)
        return bad("checkpoint_dir", "is longer than 4000 bytes");
    return RECO_OK;
}

/* ---- creation ----------------------------------------------------------------------------- */

static void gen_free_buffers(const reco_allocator *a, gen *g)
{
    reco__runner_free(g->run);
    void *bufs[] = {g->cand, g->scores, g->choice, g->probs, g->hist_items,
                    g->hist_fb, g->hist_len, g->seg_items, g->seg_fb, g->seg_rew, g->seg_n,
                    g->seg_lag, g->ret, g->steps, g->seg_first, g->seg_el, g->seg_user,
                    g->seg_long, g->seg_long_fb, g->flush_slots, g->post_el, g->box, g->posted};
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
                    t->b_done, t->b_long, t->b_s_steps, t->b_n_steps, t->b_long_fb, t->b_user,
                    t->b_s_el, t->b_n_el, t->csv_path, t->pub, t->pub_spare, t->drain,
                    t->d_items, t->d_hist_items, t->d_fb, t->d_hist_fb, t->d_rew, t->d_el,
                    t->d_user, t->d_long, t->d_long_fb, t->ckpt_dir, t->ckpt_path};
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
    if (e->n_items != t->mo.n_items || e->max_sessions < t->S || e->n_signals > 16)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: environment %u does not fit "
                               "the model (n_items %u vs %u, max_sessions %u < %u, or "
                               "n_signals %u > 16)", g, e->n_items, t->mo.n_items,
                               e->max_sessions, t->S, e->n_signals);
    char fn[64];
    snprintf(fn, sizeof fn, "reco_trainer_create: environment %u", g);
    int rc = reco__states_check_model(e, &t->mo, fn);
    if (rc < 0)
        return rc;
    if (t->Hr > 0 && reco__env_long_len(e) != t->Hr)
        return reco__error_set(RECO_EINVAL, "%s has a long-term history of %u, the replay "
                               "stores %u", fn, reco__env_long_len(e), t->Hr);
    /* the Q head was warm-started with reward weights: they must be the env's */
    uint32_t n_warm = 0;
    const float *warm = reco__qnet_warm_weights(t->q, &n_warm);
    if ((rc = reco__env_check_weights(e, warm, n_warm, fn, "the Q-network's warm start")) < 0)
        return rc;
    if (t->o.checkpoint_every > 0 &&
        (e->version < 2 || e->save_state == NULL || e->load_state == NULL))
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: trainer.checkpoint_every "
                               "needs environments with save_state and load_state; "
                               "environment %u has none", g);
    return RECO_OK;
}

/* the generator's loop: schedule, policy and sink (defined with the generator below) */
static int gen_schedule(void *payload, uint32_t slot, uint64_t *user_out,
                        uint64_t *session_out);
static int gen_choose(uint32_t *index_out, const reco_batch *states, const uint32_t *counts,
                      const reco_policy_sessions *sessions, void *payload);
static int gen_choose_v1(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                         const float *features, const int32_t *candidates,
                         const uint32_t *counts, uint32_t max_candidates, uint32_t n,
                         void *payload);
static int gen_before_step(void *payload, const reco__round *r);
static int gen_after_step(void *payload, const reco__round *r);

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
    ALLOC_N(g->cand, S * C);
    ALLOC_N(g->scores, S * C);
    ALLOC_N(g->choice, S);
    ALLOC_N(g->probs, S);
    ALLOC_N(g->hist_items, S * L);
    ALLOC_N(g->hist_fb, S * L);
    ALLOC_N(g->hist_len, S);
    ALLOC_N(g->seg_items, S * seg);
    ALLOC_N(g->seg_fb, S * seg);
    ALLOC_N(g->seg_rew, S * seg);
    ALLOC_N(g->seg_n, S);
    ALLOC_N(g->seg_lag, S);
    ALLOC_N(g->ret, S);
    ALLOC_N(g->steps, S);
    ALLOC_N(g->seg_first, S);
    ALLOC_N(g->seg_el, S * (seg + 1));
    ALLOC_N(g->seg_user, S * t->U + 1);
    ALLOC_N(g->seg_long, S * t->Hr + 1);
    ALLOC_N(g->seg_long_fb, S * t->Hr + 1);
    ALLOC_N(g->flush_slots, S);
    ALLOC_N(g->post_el, S);
    ALLOC_N(g->box, t->box_cap);
    ALLOC_N(g->posted, t->box_cap);
    /* the loop: every slot in slot order, a new session as soon as one ends */
    snprintf(g->fn, sizeof g->fn, "reco_trainer_run: generator %u", index);
    memset(&g->pol, 0, sizeof g->pol);
    g->pol.version = RECO_POLICY_VERSION;
    g->pol.name = "explorer";
    g->pol.choose = gen_choose_v1;
    g->pol.choose_sessions = gen_choose;
    g->pol.payload = g;
    static const reco__sink sink = {gen_before_step, gen_after_step, NULL, NULL};
    g->sink = sink;
    g->sink.payload = g;
    reco__runner_config rc_cfg;
    memset(&rc_cfg, 0, sizeof rc_cfg);
    rc_cfg.env = &g->env;
    rc_cfg.policy = &g->pol;
    rc_cfg.P = (uint32_t)S;
    rc_cfg.C = (uint32_t)C;
    rc_cfg.order = RECO__ROWS_BY_SLOT;
    rc_cfg.observe = 1;
    rc_cfg.fn = g->fn;
    rc_cfg.schedule = gen_schedule;
    rc_cfg.schedule_payload = g;
    rc_cfg.sinks = &g->sink;
    rc_cfg.n_sinks = 1;
    return reco__runner_create(&g->run, &t->alloc, &rc_cfg);
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
    const size_t U = t->U, Hr = t->Hr;
    ALLOC_N(t->b_user, B * U + 1);
    ALLOC_N(t->b_s_steps, B);
    ALLOC_N(t->b_n_steps, B);
    ALLOC_N(t->b_s_el, B);
    ALLOC_N(t->b_n_el, B);
    ALLOC_N(t->b_long, B * Hr + 1);
    ALLOC_N(t->b_long_fb, B * Hr + 1);
    (void)reco_rng_seed(&t->learner_rng, t->o.seed, 0);
    /* the wire boundary: outboxes hold a round's segments, S of at most seg steps each (in
     * format 2 with the context, else format 1) */
    const size_t seg = t->seg;
    t->box_cap = (size_t)t->S * (t->ctx ? 40 + 8 * L + 16 * seg + 4 * U + 8 * Hr
                                        : 24 + 8 * L + 12 * seg);
    ALLOC_N(t->drain, t->box_cap);
    ALLOC_N(t->d_items, seg);
    ALLOC_N(t->d_fb, seg);
    ALLOC_N(t->d_rew, seg);
    ALLOC_N(t->d_hist_items, L);
    ALLOC_N(t->d_hist_fb, L);
    ALLOC_N(t->d_el, seg + 1);
    ALLOC_N(t->d_user, U + 1);
    ALLOC_N(t->d_long, Hr + 1);
    ALLOC_N(t->d_long_fb, Hr + 1);
    reco_segment_arrays da = RECO_SEGMENT_ARRAYS_INIT;
    da.max_steps = seg;
    da.max_history = L;
    da.max_user_dim = U;
    da.max_long_len = Hr;
    da.items = t->d_items;
    da.feedback = t->d_fb;
    da.rewards = t->d_rew;
    da.history_items = t->d_hist_items;
    da.history_feedback = t->d_hist_fb;
    da.elapsed = t->d_el;
    da.user_features = t->d_user;
    da.long_items = t->d_long;
    da.long_feedback = t->d_long_fb;
    t->d_arrays = da;
    if (reco_model_params_encode(NULL, 0, &t->pub_len, reco_qnet_online(t->q), 0) < 0)
        return RECO_ENOMEM;
    ALLOC_N(t->pub, t->pub_len);
    ALLOC_N(t->pub_spare, t->pub_len);
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
        if (opts->version == 1) /* version 1 ends before checkpoint_every */
            memcpy(&o, opts, offsetof(reco_trainer_options, checkpoint_every));
        else
            o = *opts;
        o.version = RECO_TRAINER_OPTIONS_VERSION;
    }
    const reco_explorer_options eo_default = RECO_EXPLORER_OPTIONS_INIT;
    const reco_explorer_options *eo = explorer != NULL ? explorer : &eo_default;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    int rc = reco_model_get_options(&mo, reco_qnet_online(qnet));
    if (rc < 0)
        return rc;
    if ((rc = check_options(&o, &mo)) < 0)
        return rc;
    if (replay->L != mo.lookback)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: the replay's lookback %u is "
                               "not the model's %u", replay->L, mo.lookback);
    /* what the learner's model reads of a state must come back out of the replay */
    if ((mo.position || mo.elapsed || mo.long_len > 0 || mo.user_dim > 0) && !replay->ctx)
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: the model takes the session "
                               "context or user features (position %d, elapsed %d, long_len "
                               "%u, user_dim %u), but the replay stores no context (create it "
                               "with reco_replay_options version 2: context, user_dim, "
                               "long_len)", mo.position, mo.elapsed, mo.long_len,
                               mo.user_dim);
    if (replay->ctx && (replay->U != mo.user_dim || replay->H != mo.long_len))
        return reco__error_set(RECO_EINVAL, "reco_trainer_create: the replay stores %u user "
                               "features and a long-term history of %u, the model takes %u "
                               "and %u", replay->U, replay->H, mo.user_dim, mo.long_len);
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
    t->ctx = replay->ctx;
    t->U = mo.user_dim;
    t->Hr = replay->H;
    t->lockstep = o.n_generators == 1 && o.max_staleness == 0;
    if (o.metrics_csv != NULL) {
        if ((t->csv_path = reco__strdup(&a, o.metrics_csv)) == NULL) {
            reco_trainer_free(t);
            return RECO_ENOMEM;
        }
        t->o.metrics_csv = t->csv_path;
    }
    t->o.checkpoint_dir = NULL;
    if (o.checkpoint_dir != NULL) {
        const size_t n = strlen(o.checkpoint_dir) + 64;
        if ((t->ckpt_dir = reco__strdup(&a, o.checkpoint_dir)) == NULL ||
            (t->ckpt_path = reco__calloc(&a, n, 1)) == NULL) {
            reco_trainer_free(t);
            return RECO_ENOMEM;
        }
        t->o.checkpoint_dir = t->ckpt_dir;
    }
    if ((rc = learner_init(t)) < 0) {
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

/* Updates that T inserted transitions allow, without the total_updates cap. */
static uint64_t allowed_uncapped(const reco_trainer *t, uint64_t T)
{
    const uint64_t start = t->o.warmup > t->o.batch_size ? t->o.warmup : t->o.batch_size;
    if (T < start)
        return 0;
    const double a = floor((double)(T - t->o.warmup) * t->o.replay_ratio);
    return a >= 1.8e19 ? UINT64_MAX : (uint64_t)a;
}

/* Updates that T transitions allow, capped at total_updates. */
static uint64_t allowed_updates(const reco_trainer *t, uint64_t T)
{
    const uint64_t n = allowed_uncapped(t, T);
    return t->o.total_updates != 0 && n > t->o.total_updates ? t->o.total_updates : n;
}

/* The learner may update: the transitions in the replay allow it (under mu). */
static int can_update(const reco_trainer *t)
{
    return allowed_updates(t, t->ingested) > t->updates;
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

/* The schedule: every slot always plays, a new session for a user drawn from the
 * generator's stream. */
static int gen_schedule(void *payload, uint32_t slot, uint64_t *user_out, uint64_t *session_out)
{
    (void)slot;
    gen *g = payload;
    *user_out = reco_rng_below(&g->users, g->t->o.n_users);
    *session_out = g->n_started++;
    return 1;
}

/* Encodes the segment of slot s into the outbox; `ends` marks a user exit. */
static int flush_segment(gen *g, uint32_t s, int ends)
{
    const reco_trainer *t = g->t;
    const size_t L = t->L, seg = t->seg;
    reco_replay_segment sg = RECO_REPLAY_SEGMENT_INIT;
    sg.version = t->ctx ? 2u : 1u; /* format 2 only when the replay keeps the context */
    sg.history_len = g->hist_len[s];
    sg.history_items = sg.history_len ? g->hist_items + s * L + (L - sg.history_len) : NULL;
    sg.history_feedback = sg.history_len ? g->hist_fb + s * L + (L - sg.history_len) : NULL;
    sg.n_steps = g->seg_n[s];
    sg.items = g->seg_items + s * seg;
    sg.feedback = g->seg_fb + s * seg;
    sg.rewards = g->seg_rew + s * seg;
    sg.ends_session = ends;
    if (t->ctx) {
        sg.first_step = g->seg_first[s];
        sg.elapsed = g->seg_el + s * (seg + 1);
        sg.user_dim = t->U;
        sg.user_features = t->U > 0 ? g->seg_user + s * t->U : NULL;
        sg.long_len = t->Hr;
        sg.long_items = t->Hr > 0 ? g->seg_long + s * t->Hr : NULL;
        sg.long_feedback = t->Hr > 0 ? g->seg_long_fb + s * t->Hr : NULL;
    }
    size_t len = 0;
    int rc = reco_segment_encode(g->box + g->box_len, t->box_cap - g->box_len, &len, &sg);
    if (rc == RECO_OK)
        g->box_len += len;
    return rc;
}

/* Starts the segment of slot s at the state observed in row i (its history; with the
 * context, its first step, user features and long-term history). */
static void start_segment(gen *g, uint32_t s, const reco__states *st, uint32_t i)
{
    const reco_trainer *t = g->t;
    const size_t L = t->L, U = t->U, Hr = t->Hr;
    const int32_t *it = st->items + (size_t)i * L;
    uint32_t first = 0;
    while (first < L && it[first] == RECO_PAD)
        first++;
    g->hist_len[s] = (uint32_t)(L - first);
    memcpy(g->hist_items + (size_t)s * L, it, L * sizeof *it);
    memcpy(g->hist_fb + (size_t)s * L, st->fb + (size_t)i * L, L * sizeof(uint32_t));
    if (!t->ctx)
        return;
    g->seg_first[s] = st->steps[i];
    if (U > 0)
        memcpy(g->seg_user + s * U, st->feat + i * U, U * sizeof(float));
    if (Hr > 0) { /* the env's H is the replay's (checked at creation) */
        memcpy(g->seg_long + s * Hr, st->long_items + i * Hr, Hr * sizeof(int32_t));
        memcpy(g->seg_long_fb + s * Hr, st->long_fb + i * Hr, Hr * sizeof(uint32_t));
    }
}

/* The policy: the explorer over the snapshot's Q scores of the candidates (short rows padded
 * with their first candidate, the padding never chosen). */
static int gen_choose(uint32_t *index_out, const reco_batch *states, const uint32_t *counts,
                      const reco_policy_sessions *sessions, void *payload)
{
    gen *g = payload;
    reco_trainer *t = g->t;
    const uint32_t n = states->size, C = t->C_gen;
    const size_t stride = states->n_candidates;
    for (uint32_t i = 0; i < n; i++) {
        const int32_t *src = states->candidates + (size_t)i * stride;
        int32_t *dst = g->cand + (size_t)i * C;
        memcpy(dst, src, counts[i] * sizeof(int32_t));
        for (uint32_t c = counts[i]; c < C; c++)
            dst[c] = src[0];
    }
    reco_batch b = *states;
    b.n_candidates = C;
    b.candidates = g->cand;
    b.shared_candidates = 0;
    int rc = reco_model_score(g->scores, g->snap, NULL, &b, &t->q_head, 1);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t c = counts[i]; c < C; c++)
            g->scores[(size_t)i * C + c] = -INFINITY;
    if ((rc = reco_explorer_select(g->choice, g->probs, g->ex, g->scores, n, C, C)) < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        index_out[i] = g->choice[i];
        if (sessions != NULL && sessions->propensity_out != NULL)
            sessions->propensity_out[i] = g->probs[i];
    }
    return RECO_OK;
}

/* Never called (the loop calls gen_choose); a reco_policy needs choose(). */
static int gen_choose_v1(uint32_t *index_out, const int32_t *items, const uint32_t *feedback,
                         const float *features, const int32_t *candidates,
                         const uint32_t *counts, uint32_t max_candidates, uint32_t n,
                         void *payload)
{
    (void)index_out, (void)items, (void)feedback, (void)features, (void)candidates;
    (void)counts, (void)max_candidates, (void)n, (void)payload;
    return reco__error_set(RECO_ESTATE, "the trainer's explorer policy needs the states");
}

/* Before the step: a slot whose segment is empty starts one at the observed state; with the
 * context, the elapsed time of the state. */
static int gen_before_step(void *payload, const reco__round *r)
{
    gen *g = payload;
    const reco_trainer *t = g->t;
    const uint32_t seg = t->seg;
    for (uint32_t i = 0; i < r->n; i++) {
        const uint32_t s = r->slots[i];
        if (g->seg_n[s] == 0) /* a new segment: the window before it is its history */
            start_segment(g, s, r->st, i);
        if (t->ctx)
            g->seg_el[(size_t)s * (seg + 1) + g->seg_n[s]] = r->st->elapsed[i];
    }
    return RECO_OK;
}

/* After the step: the steps join their segments; ended segments go to the outbox, ended
 * sessions to the round's totals. */
static int gen_after_step(void *payload, const reco__round *r)
{
    uint64_t cb_gen = 0; /* reco__error_generation() before each callback */
    gen *g = payload;
    reco_trainer *t = g->t;
    const uint32_t seg = t->seg;
    reco_env *e = &g->env;
    int rc;
    uint32_t n_flush = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        const uint32_t s = r->slots[i];
        const uint32_t j = g->seg_n[s];
        g->seg_items[(size_t)s * seg + j] = r->shown[i];
        g->seg_fb[(size_t)s * seg + j] = r->fb[i];
        g->seg_rew[(size_t)s * seg + j] = r->reward[i];
        g->seg_n[s] = j + 1;
        g->seg_lag[s] += (double)g->r_lag;
        g->ret[s] += r->reward[i];
        g->steps[s]++;
        if (r->done[i] != RECO_ENV_CONTINUE || g->seg_n[s] == seg)
            g->flush_slots[n_flush++] = s;
    }
    /* the elapsed time after the last step of each ending segment: the state after the
     * step, read before any reset (context() works on finished sessions) */
    if (t->ctx && n_flush > 0) {
        if (reco__env_has_context(e)) {
            if ((rc = RECO__CALLBACK(cb_gen, "the env's context()",
                                     e->context(NULL, g->post_el, NULL, NULL, g->flush_slots,
                                                n_flush, e->payload))) < 0)
                return rc;
        } else {
            memset(g->post_el, 0, n_flush * sizeof(float));
        }
    }
    /* the rows are the slots in order, so slot s's row is found by its position */
    for (uint32_t k = 0; k < n_flush; k++) {
        const uint32_t s = g->flush_slots[k];
        uint32_t i = 0;
        while (r->slots[i] != s)
            i++;
        if (t->ctx)
            g->seg_el[(size_t)s * (seg + 1) + g->seg_n[s]] = g->post_el[k];
        if ((rc = flush_segment(g, s, r->done[i] == RECO_ENV_EXIT)) < 0)
            return rc;
        g->r_inserted += g->seg_n[s];
        g->r_lag_sum += g->seg_lag[s];
        g->seg_n[s] = 0;
        g->seg_lag[s] = 0.0;
    }
    for (uint32_t i = 0; i < r->n; i++) {
        const uint32_t s = r->slots[i];
        if (r->done[i] != RECO_ENV_CONTINUE) {
            g->r_ret_sum += g->ret[s];
            g->r_finished += 1;
            g->ret[s] = 0.0;
            g->steps[s] = 0;
        }
    }
    return RECO_OK;
}

/* One round: every slot takes one step. Adds finished segments to the outbox and returns the
 * round's statistics through the out parameters. */
static int gen_round(gen *g, uint64_t lag, uint64_t *inserted, double *lag_sum, double *ret_sum,
                     uint64_t *finished)
{
    g->r_lag = lag;
    g->r_inserted = g->r_finished = 0;
    g->r_lag_sum = g->r_ret_sum = 0.0;
    int rc = reco__runner_round(g->run);
    *inserted += g->r_inserted;
    *lag_sum += g->r_lag_sum;
    *ret_sum += g->r_ret_sum;
    *finished += g->r_finished;
    return rc;
}

static void *gen_main(void *arg)
{
    gen *g = arg;
    reco_trainer *t = g->t;
    int rc = RECO_OK;
    pthread_mutex_lock(&t->mu);
    rc = reco_model_params_decode(NULL, g->snap, t->pub, t->pub_len);
    g->snap_updates = t->pub_updates;
    pthread_mutex_unlock(&t->mu);
    if (rc == RECO_OK && !t->resumed) { /* a resumed generator continues its sessions */
        rc = reco__runner_start(g->run);
    } else if (rc == RECO_OK) {
        for (uint32_t sl = 0; sl < t->S; sl++)
            reco__runner_adopt(g->run, sl, 0, g->n_started++, g->steps[sl]);
    }
    pthread_mutex_lock(&t->mu);
    if (rc < 0)
        fail_locked(t, rc);
    t->n_running--;
    pthread_cond_broadcast(&t->cv_learner);
    while (rc == RECO_OK) {
        uint64_t lag = 0;
        for (;;) {
            if (t->stop || (t->o.total_transitions != 0 &&
                            t->inserted >= t->o.total_transitions)) {
                rc = 1; /* done */
                break;
            }
            if (t->pause || (t->lockstep && t->learner_turn)) {
                pthread_cond_wait(&t->cv_gen, &t->mu);
                continue;
            }
            if (t->pub_updates != g->snap_updates) {
                if ((rc = reco_model_params_decode(NULL, g->snap, t->pub, t->pub_len)) < 0) {
                    fail_locked(t, rc);
                    break;
                }
                g->snap_updates = t->pub_updates;
            }
            lag = t->updates - g->snap_updates;
            /* bounded staleness, and the replay ratio from the generators' side: the
             * learner's backlog of allowed updates stays within max_staleness */
            if (lag > t->o.max_staleness ||
                allowed_uncapped(t, t->inserted) > t->updates + t->o.max_staleness) {
                pthread_cond_wait(&t->cv_gen, &t->mu);
                continue;
            }
            break;
        }
        if (rc != RECO_OK)
            break;
        t->n_running++;
        pthread_mutex_unlock(&t->mu);
        uint64_t inserted = 0, finished = 0;
        double lag_sum = 0.0, ret_sum = 0.0;
        rc = gen_round(g, lag, &inserted, &lag_sum, &ret_sum, &finished);
        pthread_mutex_lock(&t->mu);
        if (rc < 0) {
            fail_locked(t, rc);
        } else {
            /* post the outbox once the learner has taken the previous one */
            while (g->posted_len != 0 && !t->stop)
                pthread_cond_wait(&t->cv_gen, &t->mu);
            if (g->box_len > 0 && !t->stop) {
                unsigned char *b = g->posted;
                g->posted = g->box;
                g->posted_len = g->box_len;
                g->box = b;
                t->n_posted++;
            }
            g->box_len = 0;
            t->inserted += inserted;
            t->lag_sum += lag_sum;
            t->lag_n += inserted;
            if (inserted > 0 && (double)lag > t->max_lag)
                t->max_lag = (double)lag;
            t->ret_sum += ret_sum;
            t->ret_n += finished;
            t->sessions += finished;
            if (t->lockstep && allowed_updates(t, t->inserted) > t->updates)
                t->learner_turn = 1;
            pthread_cond_broadcast(&t->cv_learner);
        }
        t->n_running--;
    }
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

/* Builds the metrics of the interval ending now and starts the next one (under mu). */
static void take_metrics(reco_trainer_metrics *m, reco_trainer *t, interval *iv)
{
    const double now = now_s();
    m->version = RECO_TRAINER_METRICS_VERSION;
    m->updates = t->updates;
    m->transitions = t->inserted;
    m->sessions = t->sessions;
    m->sim_return = t->ret_n ? t->ret_sum / (double)t->ret_n : 0.0;
    m->policy_lag = t->lag_n ? t->lag_sum / (double)t->lag_n : 0.0;
    t->ret_sum = t->lag_sum = 0.0;
    t->ret_n = t->lag_n = 0;
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

/* Decodes the encoded segments of one outbox into the replay (learner thread, without mu). */
static int ingest(reco_trainer *t, const unsigned char *buf, size_t len, uint64_t *added)
{
    size_t off = 0;
    *added = 0;
    while (off < len) {
        size_t sl = 0;
        if (reco__segment_peek(&sl, buf + off, len - off) < 0)
            return reco__error_set(RECO_EFORMAT, "reco_trainer_run: a truncated segment in "
                                   "an outbox");
        reco_replay_segment sg = RECO_REPLAY_SEGMENT_INIT;
        int rc = reco_segment_decode_ex(&sg, &t->d_arrays, buf + off, sl);
        if (rc < 0 || (rc = reco_replay_add_segment(NULL, t->replay, &sg)) < 0)
            return rc;
        *added += sg.n_steps;
        off += sl;
    }
    return RECO_OK;
}

/* Moves every posted outbox into the replay (called and returns under mu; drops mu while
 * decoding). */
static int drain_locked(reco_trainer *t)
{
    for (uint32_t i = 0; i < t->o.n_generators && t->n_posted > 0; i++) {
        gen *g = &t->gens[i];
        if (g->posted_len == 0)
            continue;
        unsigned char *b = t->drain;
        const size_t len = g->posted_len;
        t->drain = g->posted;
        g->posted = b;
        g->posted_len = 0;
        t->n_posted--;
        pthread_cond_broadcast(&t->cv_gen);
        pthread_mutex_unlock(&t->mu);
        uint64_t added = 0;
        const int rc = ingest(t, t->drain, len, &added);
        pthread_mutex_lock(&t->mu);
        if (rc < 0)
            return rc;
        t->ingested += added;
    }
    return RECO_OK;
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
    if (t->ctx) {
        rb.user_features = t->U > 0 ? t->b_user : NULL;
        rb.state_steps = t->b_s_steps;
        rb.next_steps = t->b_n_steps;
        rb.state_elapsed = t->b_s_el;
        rb.next_elapsed = t->b_n_el;
        rb.long_items = t->Hr > 0 ? t->b_long : NULL;
        rb.long_feedback = t->Hr > 0 ? t->b_long_fb : NULL;
    }
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
    if (t->ctx) { /* one session: s and s' share the user features and the long history */
        qb.state_user_features = qb.next_user_features = rb.user_features;
        qb.state_steps = t->b_s_steps;
        qb.next_steps = t->b_n_steps;
        qb.state_elapsed = t->b_s_el;
        qb.next_elapsed = t->b_n_el;
        qb.long_items = rb.long_items;
        qb.long_feedback = rb.long_feedback;
    }
    if ((rc = reco_qnet_update(info, t->b_prio, t->q, &qb)) < 0)
        return rc;
    return reco_replay_update_priorities(NULL, t->replay, t->b_idx, t->b_prio, B);
}

/* Publishes the online parameters as of update u (under mu; the learner thread). In
 * lock-step the generator reads a snapshot only when it has the turn, so the learner encodes
 * only the last update of its turn (flush_publish when it hands the turn back or saves a
 * checkpoint): the generator sees exactly what it would have seen, for a quarter of the
 * encoding at a replay ratio of 0.25. */
static int flush_publish(reco_trainer *t)
{
    if (t->pub_pending == 0)
        return RECO_OK;
    int rc = reco_model_params_encode(t->pub, t->pub_len, NULL, reco_qnet_online(t->q),
                                      t->pub_pending);
    if (rc == RECO_OK)
        t->pub_updates = t->pub_pending;
    t->pub_pending = 0;
    return rc;
}

/* ---- checkpoints ------------------------------------------------------------------------------
 * A checkpoint is a directory entry `checkpoint` (the manifest, a libreco container "RECOTRN1"
 * written to a temporary file and renamed: the commit point) and the two files it names,
 * `qnet-U.bin` (reco_qnet_save) and `replay-U.bin` (reco_replay_save), U the update count.
 * The manifest holds the trainer's own state (counters, random streams, explorers, sessions
 * in flight, environment states, the published snapshot as "RPRM" bytes) and the size and
 * CRC-32C of each component; the components of the previous checkpoint are removed only
 * after the new manifest is in place. Layout of the sections in docs/trainer.md. */

static const char ckpt_magic[8] = {'R', 'E', 'C', 'O', 'T', 'R', 'N', '1'};
/* Version 2 added the session context: three geometry entries and the generators' step
 * counts and segment contexts. Version 1 has the first 10 geometry entries. */
enum { CKPT_VERSION = 2, N_GEOM = 13, N_GEOM_V1 = 10, N_COUNT = 12, N_SUMS = 6 };

/* Size and CRC-32C of a whole file. */
static int file_crc(uint32_t *crc_out, uint64_t *size_out, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "cannot open: %s",
                                  strerror(errno));
    unsigned char buf[16384];
    uint32_t crc = 0;
    uint64_t size = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = reco__crc32c(crc, buf, got);
        size += got;
    }
    const int err = ferror(f);
    fclose(f);
    if (err)
        return reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "read error");
    *crc_out = crc;
    *size_out = size;
    return RECO_OK;
}

static void geometry(uint64_t g[N_GEOM], const reco_trainer *t)
{
    g[0] = t->o.n_generators;
    g[1] = t->S;
    g[2] = t->seg;
    g[3] = t->L;
    g[4] = t->C_gen;
    g[5] = t->pub_len;
    g[6] = t->replay->C;
    g[7] = t->replay->R;
    g[8] = t->replay->kind;
    g[9] = t->mo.n_items;
    g[10] = (uint64_t)t->ctx;
    g[11] = t->U;
    g[12] = t->Hr;
}

static const char *const geom_names[N_GEOM] = {
    "n_generators", "sessions_per_generator", "segment_len", "lookback",
    "explorer candidates", "snapshot bytes", "replay capacity", "replay record capacity",
    "replay kind", "n_items", "replay context", "user_dim", "replay long_len"};

/* Per-generator arrays, written generator after generator. */
typedef struct gen_array {
    const char *name;
    uint32_t type;
    size_t offset; /* of the array pointer in gen */
    int per;       /* elements per slot: PER_* below, else that many */
    int since;     /* manifest version that added it (absent before: zeros) */
} gen_array;

enum { PER_L = 0, PER_SEG = -1, PER_SEG1 = -2, PER_U = -3, PER_H = -4 };

static const gen_array gen_arrays[] = {
    {"hist_items", RECO__FILE_I32, offsetof(gen, hist_items), PER_L, 1},
    {"hist_fb", RECO__FILE_U32, offsetof(gen, hist_fb), PER_L, 1},
    {"hist_len", RECO__FILE_U32, offsetof(gen, hist_len), 1, 1},
    {"seg_items", RECO__FILE_I32, offsetof(gen, seg_items), PER_SEG, 1},
    {"seg_fb", RECO__FILE_U32, offsetof(gen, seg_fb), PER_SEG, 1},
    {"seg_rew", RECO__FILE_F32, offsetof(gen, seg_rew), PER_SEG, 1},
    {"seg_n", RECO__FILE_U32, offsetof(gen, seg_n), 1, 1},
    {"seg_lag", RECO__FILE_F64, offsetof(gen, seg_lag), 1, 1},
    {"ret", RECO__FILE_F64, offsetof(gen, ret), 1, 1},
    {"steps", RECO__FILE_U32, offsetof(gen, steps), 1, 2},
    {"seg_first", RECO__FILE_U32, offsetof(gen, seg_first), 1, 2},
    {"seg_el", RECO__FILE_F32, offsetof(gen, seg_el), PER_SEG1, 2},
    {"seg_user", RECO__FILE_F32, offsetof(gen, seg_user), PER_U, 2},
    {"seg_long", RECO__FILE_I32, offsetof(gen, seg_long), PER_H, 2},
    {"seg_long_fb", RECO__FILE_U32, offsetof(gen, seg_long_fb), PER_H, 2},
};
#define N_GEN_ARRAYS (sizeof gen_arrays / sizeof gen_arrays[0])
/* indices of the arrays that resume checks */
enum { GA_HIST_LEN = 2, GA_SEG_N = 6, GA_SEG_FIRST = 10, GA_SEG_EL = 11, GA_SEG_USER = 12,
       GA_SEG_LONG = 13, GA_SEG_LONG_FB = 14 };

static size_t gen_array_count(const reco_trainer *t, const gen_array *a)
{
    size_t per;
    switch (a->per) {
    case PER_L: per = t->L; break;
    case PER_SEG: per = t->seg; break;
    case PER_SEG1: per = (size_t)t->seg + 1; break;
    case PER_U: per = t->U; break;
    case PER_H: per = t->Hr; break;
    default: per = (size_t)a->per; break;
    }
    return (size_t)t->S * per;
}

static void *gen_array_ptr(gen *g, const gen_array *a)
{
    void *p;
    memcpy(&p, (char *)g + a->offset, sizeof p);
    return p;
}

static int write_manifest(reco_trainer *t, const interval *iv, uint64_t csv_offset,
                          int csv_valid, char names[2][48], const uint32_t crc[2],
                          const uint64_t size[2], const unsigned char *env, const uint64_t *env_len)
{
    const uint32_t n = t->o.n_generators;
    uint64_t geo[N_GEOM], cnt[N_COUNT];
    double sums[N_SUMS] = {t->ret_sum, t->lag_sum, t->max_lag, iv->loss, iv->q, iv->td};
    geometry(geo, t);
    cnt[0] = t->updates;
    cnt[1] = t->pub_updates;
    cnt[2] = t->inserted;
    cnt[3] = t->sessions;
    cnt[4] = t->ret_n;
    cnt[5] = t->lag_n;
    cnt[6] = iv->n;
    cnt[7] = iv->last_updates;
    cnt[8] = iv->last_transitions;
    cnt[9] = csv_offset;
    cnt[10] = (uint64_t)csv_valid;
    cnt[11] = (uint64_t)t->learner_turn;
    char files[96];
    const size_t l0 = strlen(names[0]) + 1, l1 = strlen(names[1]) + 1;
    memcpy(files, names[0], l0);
    memcpy(files + l0, names[1], l1);
    uint64_t env_total = 0;
    for (uint32_t i = 0; i < n; i++)
        env_total += env_len[i];
    snprintf(t->ckpt_path, strlen(t->ckpt_dir) + 64, "%s/checkpoint", t->ckpt_dir);
    reco__writer *w = NULL;
    int rc = reco__writer_open(&w, &t->alloc, t->ckpt_path, ckpt_magic, CKPT_VERSION);
    if (rc < 0)
        return rc;
    if ((rc = reco__writer_section(w, "geometry", RECO__FILE_U64, geo, N_GEOM)) < 0 ||
        (rc = reco__writer_section(w, "counters", RECO__FILE_U64, cnt, N_COUNT)) < 0 ||
        (rc = reco__writer_section(w, "sums", RECO__FILE_F64, sums, N_SUMS)) < 0 ||
        (rc = reco__writer_section(w, "learner_rng", RECO__FILE_U64, t->learner_rng.s, 4)) < 0 ||
        (rc = reco__writer_section(w, "published", RECO__FILE_BYTES, t->pub, t->pub_len)) < 0 ||
        (rc = reco__writer_section(w, "files", RECO__FILE_BYTES, files, l0 + l1)) < 0 ||
        (rc = reco__writer_section(w, "file_crc", RECO__FILE_U32, crc, 2)) < 0 ||
        (rc = reco__writer_section(w, "file_size", RECO__FILE_U64, size, 2)) < 0 ||
        (rc = reco__writer_section(w, "env_len", RECO__FILE_U64, env_len, n)) < 0 ||
        (rc = reco__writer_section(w, "env_state", RECO__FILE_BYTES, env, env_total)) < 0)
        goto fail;
    /* users' and explorers' streams, explorer steps */
    if ((rc = reco__writer_section_begin(w, "gen_users", RECO__FILE_U64, 4 * (uint64_t)n)) < 0)
        goto fail;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = reco__writer_section_append(w, t->gens[i].users.s, 4)) < 0)
            goto fail;
    if ((rc = reco__writer_section_end(w)) < 0 ||
        (rc = reco__writer_section_begin(w, "gen_ex_rng", RECO__FILE_U64, 4 * (uint64_t)n)) < 0)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        reco_rng r;
        (void)reco_explorer_get_rng(&r, t->gens[i].ex);
        if ((rc = reco__writer_section_append(w, r.s, 4)) < 0)
            goto fail;
    }
    if ((rc = reco__writer_section_end(w)) < 0 ||
        (rc = reco__writer_section_begin(w, "gen_ex_step", RECO__FILE_U64, n)) < 0)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t step = 0;
        (void)reco_explorer_get_step(&step, t->gens[i].ex);
        if ((rc = reco__writer_section_append(w, &step, 1)) < 0)
            goto fail;
    }
    if ((rc = reco__writer_section_end(w)) < 0)
        goto fail;
    for (size_t a = 0; a < N_GEN_ARRAYS; a++) {
        const gen_array *ga = &gen_arrays[a];
        const size_t cnt_g = gen_array_count(t, ga);
        if ((rc = reco__writer_section_begin(w, ga->name, ga->type, (uint64_t)n * cnt_g)) < 0)
            goto fail;
        for (uint32_t i = 0; i < n; i++)
            if ((rc = reco__writer_section_append(w, gen_array_ptr(&t->gens[i], ga), cnt_g)) < 0)
                goto fail;
        if ((rc = reco__writer_section_end(w)) < 0)
            goto fail;
    }
    return reco__writer_commit(w);
fail:
    reco__writer_abort(w);
    return rc;
}

/* Writes a checkpoint of the paused trainer (learner thread, without mu; every generator is
 * between rounds and every outbox is drained). */
static int write_checkpoint(reco_trainer *t, const interval *iv, uint64_t csv_offset,
                            int csv_valid)
{
    const uint32_t n = t->o.n_generators;
    const size_t plen = strlen(t->ckpt_dir) + 64;
    if (mkdir(t->ckpt_dir, 0777) != 0 && errno != EEXIST)
        return reco__error_set_at(RECO_EIO, t->ckpt_dir, 0, 0, NULL, "cannot create the "
                                  "checkpoint directory: %s", strerror(errno));
    char names[2][48];
    snprintf(names[0], sizeof names[0], "qnet-%" PRIu64 ".bin", t->updates);
    snprintf(names[1], sizeof names[1], "replay-%" PRIu64 ".bin", t->updates);
    uint32_t crc[2];
    uint64_t size[2];
    int rc;
    snprintf(t->ckpt_path, plen, "%s/%s", t->ckpt_dir, names[0]);
    if ((rc = reco_qnet_save(t->q, t->ckpt_path)) < 0 ||
        (rc = file_crc(&crc[0], &size[0], t->ckpt_path)) < 0)
        return rc;
    snprintf(t->ckpt_path, plen, "%s/%s", t->ckpt_dir, names[1]);
    if ((rc = reco_replay_save(t->replay, t->ckpt_path)) < 0 ||
        (rc = file_crc(&crc[1], &size[1], t->ckpt_path)) < 0)
        return rc;
    uint64_t *env_len = reco__calloc(&t->alloc, n, sizeof *env_len);
    if (env_len == NULL)
        return RECO_ENOMEM;
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = 0;
        const reco_env *e = &t->gens[i].env;
        if ((rc = e->save_state(NULL, 0, &len, e->payload)) < 0) {
            reco__free(&t->alloc, env_len);
            return rc;
        }
        env_len[i] = len;
        total += len;
    }
    unsigned char *env = reco__calloc(&t->alloc, total + 1, 1);
    if (env == NULL) {
        reco__free(&t->alloc, env_len);
        return RECO_ENOMEM;
    }
    size_t off = 0;
    for (uint32_t i = 0; i < n && rc == RECO_OK; i++) {
        const reco_env *e = &t->gens[i].env;
        size_t len = 0;
        rc = e->save_state(env + off, (size_t)env_len[i], &len, e->payload);
        off += (size_t)env_len[i];
    }
    if (rc == RECO_OK)
        rc = write_manifest(t, iv, csv_offset, csv_valid, names, crc, size, env, env_len);
    reco__free(&t->alloc, env);
    reco__free(&t->alloc, env_len);
    if (rc < 0)
        return rc;
    /* the new checkpoint is complete: the previous one's components can go */
    for (int k = 0; k < 2; k++) {
        if (t->prev_files[k][0] != '\0' && strcmp(t->prev_files[k], names[k]) != 0) {
            snprintf(t->ckpt_path, plen, "%s/%s", t->ckpt_dir, t->prev_files[k]);
            (void)unlink(t->ckpt_path);
        }
        memcpy(t->prev_files[k], names[k], sizeof names[k]);
    }
    return RECO_OK;
}

/* Pauses the generators between rounds, drains their outboxes and writes a checkpoint
 * (called and returns under mu). */
static int checkpoint_locked(reco_trainer *t, const interval *iv, FILE *csv)
{
    int rc = RECO_OK;
    t->pause = 1;
    while (!t->stop) {
        if (t->n_posted > 0) {
            if ((rc = drain_locked(t)) < 0)
                break;
            continue;
        }
        if (t->n_running == 0)
            break;
        pthread_cond_wait(&t->cv_learner, &t->mu);
    }
    if (rc == RECO_OK && !t->stop && (rc = flush_publish(t)) == RECO_OK) {
        pthread_mutex_unlock(&t->mu);
        long off = -1;
        if (csv != NULL && fflush(csv) == 0)
            off = ftell(csv);
        rc = write_checkpoint(t, iv, off >= 0 ? (uint64_t)off : 0, off >= 0);
        pthread_mutex_lock(&t->mu);
    }
    t->pause = 0;
    pthread_cond_broadcast(&t->cv_gen);
    return rc;
}

/* ---- resume -----------------------------------------------------------------------------------
 */

typedef struct ckpt_data {
    uint64_t geo[N_GEOM], cnt[N_COUNT];
    double sums[N_SUMS];
    uint64_t learner_rng[4];
    char files[97];
    uint32_t crc[2];
    uint64_t size[2];
    unsigned char *pub;
    uint64_t *env_len;
    unsigned char *env;
    uint64_t env_total;
    uint64_t *users, *ex_rng, *ex_step;
    void *arrays[N_GEN_ARRAYS];
} ckpt_data;

static void ckpt_data_free(const reco_allocator *a, ckpt_data *d)
{
    reco__free(a, d->pub);
    reco__free(a, d->env_len);
    reco__free(a, d->env);
    reco__free(a, d->users);
    reco__free(a, d->ex_rng);
    reco__free(a, d->ex_step);
    for (size_t k = 0; k < N_GEN_ARRAYS; k++)
        reco__free(a, d->arrays[k]);
}

/* Reads and checks the manifest in `dir` and the components it names; changes nothing. */
static int read_checkpoint(ckpt_data *d, reco_trainer *t, const char *dir, char *path,
                           size_t plen)
{
    const reco_allocator *a = &t->alloc;
    const uint32_t n = t->o.n_generators;
    snprintf(path, plen, "%s/checkpoint", dir);
    reco__reader *r = NULL;
    uint32_t version = 0;
    int rc = reco__reader_open(&r, a, path, ckpt_magic, 1, CKPT_VERSION, &version);
    if (rc < 0)
        return rc;
    uint64_t want[N_GEOM];
    geometry(want, t);
    /* a version-1 checkpoint has no session context: steps 0 and no segment contexts, which
     * is exact only where nothing reads them */
    if (version < 2 && (t->ctx || t->mo.position)) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "a checkpoint of version 1 "
                                "has no session context, which this trainer needs");
        goto done;
    }
    memset(d->geo, 0, sizeof d->geo);
    if ((rc = reco__reader_section(r, "geometry", RECO__FILE_U64, d->geo,
                                   version < 2 ? N_GEOM_V1 : N_GEOM)) < 0)
        goto done;
    for (int i = 0; i < N_GEOM; i++)
        if (d->geo[i] != want[i]) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "%s is %" PRIu64 " in the "
                                    "checkpoint, %" PRIu64 " in this trainer", geom_names[i],
                                    d->geo[i], want[i]);
            goto done;
        }
    uint64_t flen = 0, env_count = 0;
    if ((rc = reco__reader_section(r, "counters", RECO__FILE_U64, d->cnt, N_COUNT)) < 0 ||
        (rc = reco__reader_section(r, "sums", RECO__FILE_F64, d->sums, N_SUMS)) < 0 ||
        (rc = reco__reader_section(r, "learner_rng", RECO__FILE_U64, d->learner_rng, 4)) < 0 ||
        (rc = reco__reader_section(r, "file_crc", RECO__FILE_U32, d->crc, 2)) < 0 ||
        (rc = reco__reader_section(r, "file_size", RECO__FILE_U64, d->size, 2)) < 0 ||
        (rc = reco__reader_section_info(r, "files", NULL, &flen)) < 0 ||
        (rc = reco__reader_section_info(r, "env_state", NULL, &env_count)) < 0)
        goto done;
    if (flen < 4 || flen > 96) {
        rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "bad file list");
        goto done;
    }
    memset(d->files, 0, sizeof d->files);
    if ((rc = reco__reader_section(r, "files", RECO__FILE_BYTES, d->files, flen)) < 0)
        goto done;
    rc = RECO_ENOMEM;
    if ((d->pub = reco__calloc(a, t->pub_len, 1)) == NULL ||
        (d->env_len = reco__calloc(a, n, sizeof(uint64_t))) == NULL ||
        (d->env = reco__calloc(a, env_count + 1, 1)) == NULL ||
        (d->users = reco__calloc(a, 4 * (size_t)n, sizeof(uint64_t))) == NULL ||
        (d->ex_rng = reco__calloc(a, 4 * (size_t)n, sizeof(uint64_t))) == NULL ||
        (d->ex_step = reco__calloc(a, n, sizeof(uint64_t))) == NULL)
        goto done;
    for (size_t k = 0; k < N_GEN_ARRAYS; k++) {
        const size_t cnt = gen_array_count(t, &gen_arrays[k]) * n;
        if ((d->arrays[k] = reco__calloc(a, cnt, reco__file_type_size(gen_arrays[k].type))) ==
            NULL)
            goto done;
    }
    d->env_total = env_count;
    if ((rc = reco__reader_section(r, "published", RECO__FILE_BYTES, d->pub, t->pub_len)) < 0 ||
        (rc = reco__reader_section(r, "env_len", RECO__FILE_U64, d->env_len, n)) < 0 ||
        (rc = reco__reader_section(r, "env_state", RECO__FILE_BYTES, d->env, env_count)) < 0 ||
        (rc = reco__reader_section(r, "gen_users", RECO__FILE_U64, d->users, 4 * n)) < 0 ||
        (rc = reco__reader_section(r, "gen_ex_rng", RECO__FILE_U64, d->ex_rng, 4 * n)) < 0 ||
        (rc = reco__reader_section(r, "gen_ex_step", RECO__FILE_U64, d->ex_step, n)) < 0)
        goto done;
    for (size_t k = 0; k < N_GEN_ARRAYS; k++) {
        const uint64_t cnt = (uint64_t)gen_array_count(t, &gen_arrays[k]) * n;
        if (gen_arrays[k].since > (int)version)
            continue; /* zeros */
        if ((rc = reco__reader_section(r, gen_arrays[k].name, gen_arrays[k].type, d->arrays[k],
                                       cnt)) < 0)
            goto done;
    }
    /* the values: what a checkpoint of this trainer can hold */
    rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "inconsistent trainer state");
    uint64_t env_sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t len = 0;
        const reco_env *e = &t->gens[i].env;
        if (e->version < 2 || e->save_state == NULL || e->load_state == NULL) {
            rc = reco__error_set(RECO_EINVAL, "reco_trainer_resume: environment %u has no "
                                 "load_state", i);
            goto done;
        }
        if (e->save_state(NULL, 0, &len, e->payload) < 0 || len != d->env_len[i]) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "the state of environment "
                                    "%u has %" PRIu64 " bytes, this environment's %zu", i,
                                    d->env_len[i], len);
            goto done;
        }
        env_sum += d->env_len[i];
        const uint64_t *u = d->users + 4 * i, *x = d->ex_rng + 4 * i;
        if ((u[0] | u[1] | u[2] | u[3]) == 0 || (x[0] | x[1] | x[2] | x[3]) == 0)
            goto done;
    }
    const uint32_t *hist_len = d->arrays[GA_HIST_LEN], *seg_n = d->arrays[GA_SEG_N];
    const uint32_t *seg_first = d->arrays[GA_SEG_FIRST];
    const float *seg_el = d->arrays[GA_SEG_EL], *seg_user = d->arrays[GA_SEG_USER];
    const int32_t *seg_long = d->arrays[GA_SEG_LONG];
    const uint32_t *seg_long_fb = d->arrays[GA_SEG_LONG_FB];
    for (size_t s = 0; s < (size_t)n * t->S; s++) {
        if (hist_len[s] > t->L || seg_n[s] >= t->seg)
            goto done;
        if (!t->ctx || seg_n[s] == 0)
            continue;
        /* the context of a segment in flight: what reco_replay_add_segment() accepts */
        if ((uint64_t)seg_first[s] + t->seg > UINT32_MAX)
            goto done;
        for (size_t j = 0; j < seg_n[s]; j++) {
            const float v = seg_el[s * ((size_t)t->seg + 1) + j];
            if (!(v >= 0.0f) || !isfinite(v))
                goto done;
        }
        for (size_t k = 0; k < t->U; k++)
            if (!isfinite(seg_user[s * t->U + k]))
                goto done;
        for (size_t k = 0; k < t->Hr; k++)
            if (seg_long[s * t->Hr + k] < RECO_PAD || seg_long_fb[s * t->Hr + k] >= 1u << 16)
                goto done;
    }
    if (env_sum != d->env_total || d->cnt[1] > d->cnt[0] || d->cnt[10] > 1 || d->cnt[11] > 1 ||
        (d->learner_rng[0] | d->learner_rng[1] | d->learner_rng[2] | d->learner_rng[3]) == 0 ||
        memchr(d->files, '\0', (size_t)flen) == NULL || d->files[flen - 1] != '\0')
        goto done;
    /* the published snapshot decodes into this architecture (generator 0's snapshot is
     * scratch until a run starts) */
    if ((rc = reco_model_params_decode(NULL, t->gens[0].snap, d->pub, t->pub_len)) < 0)
        goto done;
    /* the components: present, and exactly the bytes the manifest recorded */
    const char *name = d->files;
    for (int k = 0; k < 2; k++) {
        const size_t len = strlen(name);
        if (len == 0 || len > 40 || strchr(name, '/') != NULL ||
            (k == 0 && name + len + 1 >= d->files + flen)) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "bad file list");
            goto done;
        }
        char *cpath = path + strlen(dir) + 1; /* path holds "dir/checkpoint" */
        snprintf(cpath, plen - strlen(dir) - 1, "%s", name);
        uint32_t crc = 0;
        uint64_t size = 0;
        if ((rc = file_crc(&crc, &size, path)) < 0)
            goto done;
        if (crc != d->crc[k] || size != d->size[k]) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "does not match the "
                                    "checkpoint manifest (%" PRIu64 " bytes, %" PRIu64
                                    " recorded; changed, truncated or corrupted)", size,
                                    d->size[k]);
            goto done;
        }
        name += len + 1;
    }
    rc = RECO_OK;
done:
    reco__reader_close(r);
    return rc;
}

int reco_trainer_resume(reco_trainer *t, const char *checkpoint_dir)
{
    if (t == NULL)
        return reco__error_set(RECO_EINVAL, "reco_trainer_resume: trainer is NULL");
    const char *dir = checkpoint_dir != NULL ? checkpoint_dir : t->ckpt_dir;
    if (dir == NULL || dir[0] == '\0')
        return reco__error_set(RECO_EINVAL, "reco_trainer_resume: no checkpoint directory");
    if (t->ran || t->resumed)
        return reco__error_set(RECO_ESTATE, "reco_trainer_resume: the trainer has run or "
                               "was resumed already");
    const size_t plen = strlen(dir) + 64;
    char *path = reco__calloc(&t->alloc, plen, 1);
    if (path == NULL)
        return RECO_ENOMEM;
    ckpt_data d;
    memset(&d, 0, sizeof d);
    int rc = read_checkpoint(&d, t, dir, path, plen);
    if (rc < 0)
        goto done;
    /* from here on the trainer changes; the loads below validate before they write, and
     * everything they could refuse for was checked above */
    const char *qname = d.files, *rname = d.files + strlen(d.files) + 1;
    snprintf(path, plen, "%s/%s", dir, qname);
    if ((rc = reco_qnet_load(t->q, path)) < 0)
        goto done;
    snprintf(path, plen, "%s/%s", dir, rname);
    if ((rc = reco_replay_load(t->replay, path)) < 0) {
        t->broken = 1;
        goto done;
    }
    const uint32_t n = t->o.n_generators;
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        const reco_env *e = &t->gens[i].env;
        if ((rc = e->load_state(d.env + off, (size_t)d.env_len[i], e->payload)) < 0) {
            t->broken = 1;
            goto done;
        }
        off += (size_t)d.env_len[i];
    }
    for (uint32_t i = 0; i < n; i++) {
        gen *g = &t->gens[i];
        reco_rng r;
        memcpy(g->users.s, d.users + 4 * i, sizeof g->users.s);
        memcpy(r.s, d.ex_rng + 4 * i, sizeof r.s);
        (void)reco_explorer_set_rng(g->ex, &r);
        (void)reco_explorer_set_step(g->ex, d.ex_step[i]);
        for (size_t k = 0; k < N_GEN_ARRAYS; k++) {
            const size_t cnt = gen_array_count(t, &gen_arrays[k]);
            const size_t es = reco__file_type_size(gen_arrays[k].type);
            memcpy(gen_array_ptr(g, &gen_arrays[k]), (char *)d.arrays[k] + i * cnt * es,
                   cnt * es);
        }
    }
    memcpy(t->pub, d.pub, t->pub_len);
    memcpy(t->learner_rng.s, d.learner_rng, sizeof t->learner_rng.s);
    t->updates = d.cnt[0];
    t->pub_updates = d.cnt[1];
    t->inserted = t->ingested = d.cnt[2];
    t->sessions = d.cnt[3];
    t->ret_n = d.cnt[4];
    t->lag_n = d.cnt[5];
    t->res_iv[0] = d.cnt[6];
    t->res_iv[1] = d.cnt[7];
    t->res_iv[2] = d.cnt[8];
    t->res_csv_offset = d.cnt[9];
    t->res_csv_valid = (int)d.cnt[10];
    t->learner_turn = (int)d.cnt[11];
    t->ret_sum = d.sums[0];
    t->lag_sum = d.sums[1];
    t->max_lag = d.sums[2];
    t->res_sums[0] = d.sums[3];
    t->res_sums[1] = d.sums[4];
    t->res_sums[2] = d.sums[5];
    if (t->ckpt_dir != NULL && strcmp(dir, t->ckpt_dir) == 0) {
        memcpy(t->prev_files[0], qname, strlen(qname) + 1);
        memcpy(t->prev_files[1], rname, strlen(rname) + 1);
    }
    t->resumed = 1;
done:
    ckpt_data_free(&t->alloc, &d);
    reco__free(&t->alloc, path);
    if (t->broken && rc < 0) {
        char msg[MSG_LEN];
        snprintf(msg, sizeof msg, "%s", reco_error_message());
        return reco__error_set(rc, "reco_trainer_resume: the trainer is partly loaded and "
                               "will not run: %s", msg);
    }
    return rc;
}

/* Opens the metrics CSV: afresh with a header, or, after a resume, cut back to the rows
 * written before the checkpoint. */
static FILE *open_csv(const reco_trainer *t)
{
    if (t->resumed && t->res_csv_valid) {
        FILE *f = fopen(t->csv_path, "r+");
        if (f != NULL) {
            struct stat st;
            if (fstat(fileno(f), &st) == 0 && (uint64_t)st.st_size >= t->res_csv_offset &&
                t->res_csv_offset > 0 && ftruncate(fileno(f), (off_t)t->res_csv_offset) == 0 &&
                fseek(f, 0, SEEK_END) == 0)
                return f;
            fclose(f);
        }
    }
    FILE *f = fopen(t->csv_path, "w");
    if (f != NULL && fputs("updates,transitions,loss,mean_q,mean_abs_td,sim_return,policy_lag,"
                           "transitions_per_s,updates_per_s\n", f) < 0) {
        fclose(f);
        f = NULL;
    }
    return f;
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
    if (t->broken)
        return reco__error_set(RECO_ESTATE, "reco_trainer_run: a failed reco_trainer_resume() "
                               "left the trainer partly loaded");
    t->ran = 1;
    FILE *csv = NULL;
    if (t->csv_path != NULL && (csv = open_csv(t)) == NULL)
        return reco__error_set(RECO_EIO, "reco_trainer_run: cannot write the metrics CSV "
                               "'%s'", t->csv_path);
    interval iv;
    memset(&iv, 0, sizeof iv);
    iv.start = iv.last_time = now_s();
    int rc = RECO_OK;
    if (t->resumed) {
        iv.loss = t->res_sums[0];
        iv.q = t->res_sums[1];
        iv.td = t->res_sums[2];
        iv.n = t->res_iv[0];
        iv.last_updates = t->res_iv[1];
        iv.last_transitions = t->res_iv[2];
    } else {
        /* the generators start from the online network as it is now */
        t->pub_updates = t->updates = 0;
        rc = reco_model_params_encode(t->pub, t->pub_len, NULL, reco_qnet_online(t->q), 0);
    }
    const uint64_t start_updates = t->updates;
    uint32_t n_started = 0;
    pthread_mutex_lock(&t->mu);
    for (uint32_t i = 0; rc == RECO_OK && i < t->o.n_generators; i++) {
        t->n_running++;
        if (pthread_create(&t->gens[i].thread, NULL, gen_main, &t->gens[i]) != 0) {
            t->n_running--;
            rc = reco__error_set(RECO_ERROR, "reco_trainer_run: pthread_create failed");
            break;
        }
        t->gens[i].started = 1;
        n_started++;
    }
    if (rc < 0)
        fail_locked(t, rc);
    t->gens_done += t->o.n_generators - n_started;
    int stopped = 0, diverged = 0, wrote_row = 0;
    reco_trainer_metrics last = {RECO_TRAINER_METRICS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    while (!t->stop) {
        for (;;) {
            if (t->stop)
                break;
            if (t->n_posted > 0) {
                if ((rc = drain_locked(t)) < 0) {
                    fail_locked(t, rc);
                    break;
                }
                continue;
            }
            if (can_update(t) || t->gens_done >= t->o.n_generators)
                break;
            if (t->lockstep && t->learner_turn) {
                if ((rc = flush_publish(t)) < 0) {
                    fail_locked(t, rc);
                    break;
                }
                t->learner_turn = 0;
                pthread_cond_broadcast(&t->cv_gen);
            }
            pthread_cond_wait(&t->cv_learner, &t->mu);
        }
        if (t->stop || !can_update(t))
            break;
        pthread_mutex_unlock(&t->mu);
        reco_qnet_update_info info = RECO_QNET_UPDATE_INFO_INIT;
        const uint64_t u = t->updates + 1; /* only this thread writes updates */
        const int publish = u % t->o.snapshot_period == 0;
        rc = learn_step(t, &info);
        if (rc == RECO_OK && publish && !t->lockstep)
            rc = reco_model_params_encode(t->pub_spare, t->pub_len, NULL,
                                          reco_qnet_online(t->q), u);
        pthread_mutex_lock(&t->mu);
        if (rc < 0) {
            diverged = rc == RECO_ESTATE && strstr(reco_error_message(), "diverged") != NULL;
            fail_locked(t, rc);
            break;
        }
        t->updates = u;
        iv.loss += info.loss;
        iv.q += info.mean_q;
        iv.td += info.mean_abs_td;
        iv.n++;
        if (!t->lockstep)
            pthread_cond_broadcast(&t->cv_gen); /* throttled generators may go on */
        if (publish && t->lockstep) {
            t->pub_pending = u;
        } else if (publish) {
            unsigned char *b = t->pub;
            t->pub = t->pub_spare;
            t->pub_spare = b;
            t->pub_updates = u;
            pthread_cond_broadcast(&t->cv_gen);
        }
        const int done = t->o.total_updates != 0 && u >= t->o.total_updates;
        if (u % t->o.metrics_interval == 0) {
            take_metrics(&last, t, &iv);
            pthread_mutex_unlock(&t->mu);
            wrote_row = 1;
            int wrc = csv != NULL ? write_row(csv, &last) : RECO_OK;
            /* the last row of a run is not passed to the callback */
            int stop = !done && t->o.progress != NULL
                           ? t->o.progress(&last, t->o.progress_payload)
                           : 0;
            pthread_mutex_lock(&t->mu);
            if (wrc < 0) {
                reco__error_set(RECO_EIO, "reco_trainer_run: cannot write the metrics CSV '%s'",
                                t->csv_path);
                fail_locked(t, RECO_EIO);
                break;
            }
            stopped = stop != 0;
        }
        if (t->o.checkpoint_every != 0 && u % t->o.checkpoint_every == 0) {
            if ((rc = checkpoint_locked(t, &iv, csv)) < 0) {
                fail_locked(t, rc);
                break;
            }
        }
        if (done || stopped)
            break;
    }
    t->stop = 1;
    pthread_cond_broadcast(&t->cv_gen);
    pthread_mutex_unlock(&t->mu);
    for (uint32_t i = 0; i < t->o.n_generators; i++)
        if (t->gens[i].started) {
            pthread_join(t->gens[i].thread, NULL);
            t->gens[i].started = 0;
        }
    pthread_mutex_lock(&t->mu);
    /* what the generators posted last goes into the replay too */
    if (t->err_rc == 0 && t->n_posted > 0 && (rc = drain_locked(t)) < 0)
        fail_locked(t, rc);
    /* a last row for the updates since the previous one (or the only row) */
    if (iv.n > 0 || !wrote_row) {
        take_metrics(&last, t, &iv);
        if (csv != NULL && write_row(csv, &last) < 0 && t->err_rc == 0) {
            t->err_rc = RECO_EIO;
            snprintf(t->err_msg, sizeof t->err_msg, "reco_trainer_run: cannot write the "
                     "metrics CSV '%s'", t->csv_path);
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (csv != NULL && fclose(csv) != 0 && t->err_rc == 0) {
        t->err_rc = RECO_EIO;
        snprintf(t->err_msg, sizeof t->err_msg, "reco_trainer_run: cannot write the metrics "
                 "CSV '%s'", t->csv_path);
    }
    (void)start_updates;
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
