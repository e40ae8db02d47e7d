/* reco_qnet: online + target reco_model, warm start from a feedback model, Double DQN update
 * with a divergence guard. Equations in include/reco/qnet.h and docs/qnet.md.
 *
 * Every buffer an update needs is allocated at creation for the model's max_batch and
 * max_candidates, so reco_qnet_update() never allocates. An update validates its whole input
 * and evaluates every guard before reco_model_step(), so a failed update changes nothing: the
 * online gradients it accumulated are cleared, and the step (the only writer of parameters
 * and moments) is not taken. The warm start writes the Q head through the parameter layout of
 * model_private.h. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "model_private.h"
#include "reco/env.h"
#include "reco/qnet.h"
#include "qnet_private.h"

/* ---- options ------------------------------------------------------------------------------ */

int reco_qnet_options_init(reco_qnet_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_QNET_OPTIONS_VERSION, "reco_qnet_options");
    if (rc < 0)
        return rc;
    const reco_qnet_options d = RECO_QNET_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

int reco__qnet_check_options(reco_qnet_options *o, const reco_qnet_options *in, const char *fn)
{
    const reco_qnet_options d = RECO_QNET_OPTIONS_INIT;
    *o = d;
    if (in != NULL) {
        int rc = reco__check_version(in->version, RECO_QNET_OPTIONS_VERSION,
                                     "reco_qnet_options");
        if (rc < 0)
            return rc;
        /* an older struct ends earlier: its fields only, the rest keep their defaults */
        memcpy(o, in, in->version >= 2 ? sizeof *o
                                       : offsetof(reco_qnet_options, conservative_alpha));
        o->version = RECO_QNET_OPTIONS_VERSION;
    }
    if (!(o->gamma >= 0.0f && o->gamma <= 1.0f))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "gamma",
                                  "%s: gamma %g is not in [0, 1]", fn, (double)o->gamma);
    if (!(o->huber_delta > 0.0f) || !isfinite(o->huber_delta))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "huber_delta",
                                  "%s: huber_delta %g must be positive and finite", fn,
                                  (double)o->huber_delta);
    if (o->target_period == 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "target_period",
                                  "%s: target_period must be at least 1", fn);
    if (!(o->tau >= 0.0f && o->tau <= 1.0f))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "tau",
                                  "%s: tau %g is not in [0, 1]", fn, (double)o->tau);
    if (!(o->priority_eps >= 0.0f) || !isfinite(o->priority_eps))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "priority_eps",
                                  "%s: priority_eps %g must be finite and >= 0", fn,
                                  (double)o->priority_eps);
    if (!(o->max_abs_q > 0.0f))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "max_abs_q",
                                  "%s: max_abs_q %g must be positive", fn, (double)o->max_abs_q);
    if (!(o->max_loss > 0.0f))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "max_loss",
                                  "%s: max_loss %g must be positive", fn, (double)o->max_loss);
    if (!(o->conservative_alpha >= 0.0f) || !isfinite(o->conservative_alpha))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "conservative_alpha",
                                  "%s: conservative_alpha %g must be finite and >= 0", fn,
                                  (double)o->conservative_alpha);
    return RECO_OK;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

void reco_qnet_free(reco_qnet *q)
{
    if (q == NULL)
        return;
    reco_allocator a = q->alloc;
    reco_model_free(q->online);
    reco_model_free(q->target);
    reco__free(&a, q->qnext);
    reco__free(&a, q->astar);
    reco__free(&a, q->qtarget);
    reco__free(&a, q->y);
    reco__free(&a, q->pred);
    reco__free(&a, q->last_good);
    reco__free(&a, q);
    reco__handle_release();
}

/* Creates the handle, both models (from `mo`, allocator replaced) and the buffers. */
static int qnet_new(reco_qnet **out, const reco_qnet_options *o, reco_model_options mo)
{
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, o->allocator);
    if (rc < 0)
        return rc;
    mo.allocator = o->allocator;
    reco_model *online = NULL, *target = NULL;
    if ((rc = reco_model_create(&online, &mo)) < 0)
        return rc;
    if ((rc = reco_model_create(&target, &mo)) < 0) {
        reco_model_free(online);
        return rc;
    }
    reco_qnet *q = reco__calloc(&a, 1, sizeof *q);
    if (q == NULL) {
        reco_model_free(online);
        reco_model_free(target);
        return RECO_ENOMEM;
    }
    q->alloc = a;
    q->opts = *o;
    q->opts.allocator = NULL;
    q->opts.model = NULL;
    q->online = online;
    q->target = target;
    q->q_head = reco_model_n_heads(online) - 1;
    q->max_batch = mo.max_batch;
    q->max_candidates = mo.max_candidates;
    q->n_params = reco_model_n_params(online);
    reco__handle_acquire();
    size_t bc = 0;
    if (reco__size_mul(&bc, q->max_batch, q->max_candidates) < 0) {
        reco_qnet_free(q);
        return RECO_ENOMEM;
    }
    q->qnext = reco__alloc(&a, bc * sizeof(float), 0);
    q->astar = reco__alloc(&a, q->max_batch * sizeof(int32_t), 0);
    q->qtarget = reco__alloc(&a, q->max_batch * sizeof(float), 0);
    q->y = reco__alloc(&a, q->max_batch * sizeof(float), 0);
    q->pred = reco__alloc(&a, q->max_batch * sizeof(float), 0);
    if (o->keep_last_good)
        q->last_good = reco__alloc(&a, q->n_params * sizeof(float), 0);
    if (q->qnext == NULL || q->astar == NULL || q->qtarget == NULL || q->y == NULL ||
        q->pred == NULL || (o->keep_last_good && q->last_good == NULL)) {
        reco_qnet_free(q);
        return RECO_ENOMEM;
    }
    *out = q;
    return RECO_OK;
}

int reco_qnet_create(reco_qnet **out, const reco_qnet_options *opts)
{
    static const char fn[] = "reco_qnet_create";
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    reco_qnet_options o;
    int rc = reco__qnet_check_options(&o, opts, fn);
    if (rc < 0)
        return rc;
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    if (o.model != NULL) {
        if ((rc = reco__check_version(o.model->version, RECO_MODEL_OPTIONS_VERSION,
                                      "reco_model_options")) < 0)
            return rc;
        mo = *o.model;
    }
    reco_qnet *q = NULL;
    if ((rc = qnet_new(&q, &o, mo)) < 0)
        return rc;
    /* Same options, same seed: the target is already equal; the copy makes it explicit. */
    reco_model_copy_params(q->target, q->online);
    *out = q;
    return RECO_OK;
}

int reco_qnet_create_warm(reco_qnet **out, const reco_model *feedback,
                          const float *reward_weights, const reco_qnet_options *opts)
{
    static const char fn[] = "reco_qnet_create_warm";
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    if (feedback == NULL || reward_weights == NULL)
        return reco__error_set(RECO_EINVAL, "%s: feedback or reward_weights is NULL", fn);
    reco_qnet_options o;
    int rc = reco__qnet_check_options(&o, opts, fn);
    if (rc < 0)
        return rc;
    const size_t F = feedback->F;
    for (size_t f = 0; f < F; f++)
        if (!isfinite(reward_weights[f]))
            return reco__error_set(RECO_EINVAL, "%s: reward_weights[%zu] is not finite", fn, f);
    reco_model_options mo = feedback->opts;
    if (o.model != NULL) {
        if ((rc = reco__check_version(o.model->version, RECO_MODEL_OPTIONS_VERSION,
                                      "reco_model_options")) < 0)
            return rc;
        const reco_model_options *r = o.model;
        mo.max_batch = r->max_batch;
        mo.max_candidates = r->max_candidates;
        mo.threads = r->threads;
        if (r->version >= 3)
            mo.deterministic = r->deterministic;
        mo.lr = r->lr;
        mo.beta1 = r->beta1;
        mo.beta2 = r->beta2;
        mo.adam_eps = r->adam_eps;
        mo.weight_decay = r->weight_decay;
        mo.clip_norm = r->clip_norm;
    }
    reco_qnet *q = NULL;
    if ((rc = qnet_new(&q, &o, mo)) < 0)
        return rc;
    reco_model *m = q->online;
    if ((rc = reco_model_copy_params(m, feedback)) < 0) {
        reco_qnet_free(q);
        return rc;
    }
    /* Q head = sum_f w_f (signal head f): projection, item and feature biases and the state
     * term alike, so the Q score is the same combination of the signal logits (summed in
     * double, in signal order). */
    reco__model_combine_heads(m, q->q_head, reward_weights, F);
    reco_model_copy_params(q->target, m);
    if (F <= sizeof q->warm_w / sizeof q->warm_w[0]) {
        memcpy(q->warm_w, reward_weights, F * sizeof(float));
        q->n_warm = (uint32_t)F;
    }
    *out = q;
    return RECO_OK;
}

const float *reco__qnet_warm_weights(const reco_qnet *q, uint32_t *n_out)
{
    *n_out = q->n_warm;
    return q->n_warm > 0 ? q->warm_w : NULL;
}

/* ---- update ------------------------------------------------------------------------------- */

/* The caller's batch as a current-version struct: a version-1 batch has no context. */
static reco_qnet_batch batch_of(const reco_qnet_batch *b)
{
    reco_qnet_batch v = RECO_QNET_BATCH_INIT;
    if (b->version >= 2)
        v = *b;
    else
        memcpy(&v, b, offsetof(reco_qnet_batch, state_steps));
    return v;
}

/* The session context that the model needs, from a batch of the caller's `version`. */
static int check_context(const reco_qnet *q, const reco_qnet_batch *b, unsigned int version,
                         const char *fn)
{
    const reco_model_options *mo = &q->online->opts;
    if (!mo->position && !mo->elapsed && mo->long_len == 0)
        return RECO_OK;
    if (version < 2)
        return reco__error_set(RECO_EINVAL, "%s: the Q-network takes the session context "
                               "(position %d, elapsed %d, long_len %u), which a version-1 "
                               "reco_qnet_batch does not carry: use version 2 (state_steps, "
                               "next_steps, state_elapsed, next_elapsed, long_items, "
                               "long_feedback)", fn, mo->position, mo->elapsed, mo->long_len);
    if (mo->position && (b->state_steps == NULL || b->next_steps == NULL))
        return reco__error_set(RECO_EINVAL, "%s: the Q-network takes the position in the "
                               "session, but state_steps or next_steps is NULL", fn);
    if (mo->elapsed && (b->state_elapsed == NULL || b->next_elapsed == NULL))
        return reco__error_set(RECO_EINVAL, "%s: the Q-network takes the elapsed time, but "
                               "state_elapsed or next_elapsed is NULL", fn);
    if (mo->long_len > 0 && (b->long_items == NULL || b->long_feedback == NULL))
        return reco__error_set(RECO_EINVAL, "%s: the Q-network has a long-term history of %u "
                               "slots, but long_items or long_feedback is NULL", fn,
                               mo->long_len);
    return RECO_OK;
}

static int check_update(const reco_qnet *q, const reco_qnet_batch *b, unsigned int version,
                        const char *fn)
{
    int rc = check_context(q, b, version, fn);
    if (rc < 0)
        return rc;
    if (b->size == 0 || b->size > q->max_batch)
        return reco__error_set(RECO_EINVAL, "%s: batch size %u is out of range [1, %zu]", fn,
                               b->size, q->max_batch);
    if (b->n_candidates == 0 || b->n_candidates > q->max_candidates)
        return reco__error_set(RECO_EINVAL, "%s: %u candidates is out of range [1, %zu]", fn,
                               b->n_candidates, q->max_candidates);
    if (b->state_items == NULL || b->state_feedback == NULL || b->next_items == NULL ||
        b->next_feedback == NULL || b->actions == NULL || b->rewards == NULL ||
        b->done == NULL || b->candidates == NULL)
        return reco__error_set(RECO_EINVAL, "%s: a required batch array is NULL", fn);
    const size_t B = b->size, N = q->online->N;
    for (size_t i = 0; i < B; i++) {
        if (b->actions[i] < 0 || (size_t)b->actions[i] >= N)
            return reco__error_set(RECO_EINVAL, "%s: actions[%zu] = %d is not in [0, %zu)", fn,
                                   i, b->actions[i], N);
        if (!isfinite(b->rewards[i]))
            return reco__error_set(RECO_EINVAL, "%s: rewards[%zu] is not finite", fn, i);
        if (b->done[i] != RECO_ENV_CONTINUE && b->done[i] != RECO_ENV_EXIT &&
            b->done[i] != RECO_ENV_TRUNCATED)
            return reco__error_set(RECO_EINVAL, "%s: done[%zu] = %u is not RECO_ENV_CONTINUE, "
                                   "RECO_ENV_EXIT or RECO_ENV_TRUNCATED", fn, i,
                                   (unsigned)b->done[i]);
        if (b->weights != NULL && (!(b->weights[i] >= 0.0f) || !isfinite(b->weights[i])))
            return reco__error_set(RECO_EINVAL, "%s: weights[%zu] = %g must be finite and >= 0",
                                   fn, i, (double)b->weights[i]);
    }
    return RECO_OK;
}

/* Clears the gradients a refused update accumulated and records the divergence. */
static int diverged(reco_qnet *q, const char *what, double value, double limit)
{
    reco_model_zero_grad(q->online);
    return reco__error_set(RECO_ESTATE, "reco_qnet_update: diverged: %s %g exceeds %g (after "
                           "%llu updates); the update was not applied", what, value, limit,
                           (unsigned long long)q->n_updates);
}

int reco_qnet_update(reco_qnet_update_info *info_out, float *priorities_out, reco_qnet *q,
                     const reco_qnet_batch *batch)
{
    static const char fn[] = "reco_qnet_update";
    if (q == NULL)
        return reco__error_set(RECO_EINVAL, "%s: q is NULL", fn);
    if (info_out != NULL) {
        int rc = reco__check_version(info_out->version, RECO_QNET_UPDATE_INFO_VERSION,
                                     "reco_qnet_update_info");
        if (rc < 0)
            return rc;
    }
    if (batch == NULL)
        return reco__error_set(RECO_EINVAL, "%s: batch is NULL", fn);
    int rc = reco__check_version(batch->version, RECO_QNET_BATCH_VERSION, "reco_qnet_batch");
    if (rc < 0)
        return rc;
    const reco_qnet_batch bv = batch_of(batch);
    if ((rc = check_update(q, &bv, batch->version, fn)) < 0)
        return rc;
    batch = &bv;
    const size_t B = batch->size, C = batch->n_candidates;
    const double max_q = q->opts.max_abs_q;

    /* Online Q over the candidates of s' (validates the next states and candidates). */
    reco_batch nb = RECO_BATCH_INIT;
    nb.size = batch->size;
    nb.items = batch->next_items;
    nb.feedback = batch->next_feedback;
    nb.user_features = batch->next_user_features;
    nb.n_candidates = batch->n_candidates;
    nb.candidates = batch->candidates;
    nb.shared_candidates = batch->shared_candidates;
    nb.steps = batch->next_steps;
    nb.elapsed = batch->next_elapsed;
    nb.long_items = batch->long_items;
    nb.long_feedback = batch->long_feedback;
    if ((rc = reco_model_score(q->qnext, q->online, NULL, &nb, &q->q_head, 1)) < 0)
        return rc;
    double seen_q = 0.0;
    for (size_t b = 0; b < B; b++) {
        const float *row = q->qnext + b * C;
        const int32_t *cand = batch->candidates + (batch->shared_candidates ? 0 : b * C);
        size_t best = 0;
        for (size_t c = 0; c < C; c++) {
            const double v = fabs((double)row[c]);
            if (!(v <= max_q))
                return diverged(q, "online |Q(s', c)|", v, max_q);
            if (v > seen_q)
                seen_q = v;
            if (row[c] > row[best]) /* ties: the first candidate */
                best = c;
        }
        q->astar[b] = cand[best];
    }

    /* Target Q at a*: one candidate per row. */
    nb.n_candidates = 1;
    nb.candidates = q->astar;
    nb.shared_candidates = 0;
    if ((rc = reco_model_score(q->qtarget, q->target, NULL, &nb, &q->q_head, 1)) < 0)
        return rc;
    const float gamma = q->opts.gamma;
    double sum_y = 0.0;
    for (size_t b = 0; b < B; b++) {
        const double v = fabs((double)q->qtarget[b]);
        if (!(v <= max_q))
            return diverged(q, "target |Q(s', a*)|", v, max_q);
        if (v > seen_q)
            seen_q = v;
        const float boot = batch->done[b] == RECO_ENV_EXIT ? 0.0f : gamma * q->qtarget[b];
        q->y[b] = batch->rewards[b] + boot;
        if (!isfinite(q->y[b]))
            return diverged(q, "|TD target|", fabs((double)q->y[b]), (double)FLT_MAX);
        sum_y += q->y[b];
    }

    /* Online Q(s, a) and its gradient (validates the states). */
    reco_batch sb = RECO_BATCH_INIT;
    sb.size = batch->size;
    sb.items = batch->state_items;
    sb.feedback = batch->state_feedback;
    sb.user_features = batch->state_user_features;
    sb.steps = batch->state_steps;
    sb.elapsed = batch->state_elapsed;
    sb.long_items = batch->long_items;
    sb.long_feedback = batch->long_feedback;
    double loss = 0.0;
    if (q->opts.conservative_alpha > 0.0f)
        rc = reco__model_train_scalar_cql(&loss, NULL, q->pred, q->online, &sb, batch->actions,
                                          q->q_head, q->y, batch->weights,
                                          q->opts.huber_delta, q->opts.conservative_alpha,
                                          batch->candidates, batch->n_candidates,
                                          batch->shared_candidates);
    else
        rc = reco_model_train_scalar(&loss, q->pred, q->online, &sb, batch->actions,
                                     q->q_head, q->y, batch->weights, q->opts.huber_delta);
    if (rc < 0)
        return rc;
    double sum_q = 0.0, sum_td = 0.0;
    for (size_t b = 0; b < B; b++) {
        const double v = fabs((double)q->pred[b]);
        if (!(v <= max_q))
            return diverged(q, "online |Q(s, a)|", v, max_q);
        if (v > seen_q)
            seen_q = v;
        sum_q += q->pred[b];
        sum_td += fabs((double)q->pred[b] - (double)q->y[b]);
    }
    if (!(loss <= (double)q->opts.max_loss))
        return diverged(q, "loss", loss, q->opts.max_loss);

    if (q->last_good != NULL)
        memcpy(q->last_good, q->online->params, q->n_params * sizeof(float));
    double gnorm = 0.0;
    if ((rc = reco_model_step(&gnorm, q->online)) < 0) {
        reco_model_zero_grad(q->online);
        return reco__error_set(RECO_ESTATE, "%s: diverged: the gradient is not finite (after "
                               "%llu updates); the update was not applied", fn,
                               (unsigned long long)q->n_updates);
    }
    q->has_last_good = q->last_good != NULL;
    q->n_updates++;
    int synced = 0;
    if (q->opts.tau > 0.0f) {
        reco_model_blend_params(q->target, q->online, q->opts.tau);
    } else if (q->n_updates % q->opts.target_period == 0) {
        reco_model_copy_params(q->target, q->online);
        synced = 1;
    }
    if (priorities_out != NULL)
        for (size_t b = 0; b < B; b++)
            priorities_out[b] = fabsf(q->pred[b] - q->y[b]) + q->opts.priority_eps;
    if (info_out != NULL) {
        info_out->loss = loss;
        info_out->mean_q = sum_q / (double)B;
        info_out->mean_target = sum_y / (double)B;
        info_out->mean_abs_td = sum_td / (double)B;
        info_out->max_abs_q = seen_q;
        info_out->grad_norm = gnorm;
        info_out->n_updates = q->n_updates;
        info_out->target_synced = synced;
    }
    return RECO_OK;
}

/* ---- target, accessors, knobs ------------------------------------------------------------- */

int reco_qnet_sync_target(reco_qnet *q)
{
    if (q == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_sync_target: q is NULL");
    return reco_model_copy_params(q->target, q->online);
}

int reco_qnet_restore_last_good(reco_qnet *q)
{
    if (q == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_restore_last_good: q is NULL");
    if (!q->has_last_good)
        return reco__error_set(RECO_ESTATE, "reco_qnet_restore_last_good: no last good "
                               "parameters (keep_last_good is off, or no update was applied)");
    memcpy(q->online->params, q->last_good, q->n_params * sizeof(float));
    memcpy(q->target->params, q->last_good, q->n_params * sizeof(float));
    return RECO_OK;
}

const reco_model *reco_qnet_online(const reco_qnet *q)
{
    return q->online;
}

const reco_model *reco_qnet_target(const reco_qnet *q)
{
    return q->target;
}

uint32_t reco_qnet_q_head(const reco_qnet *q)
{
    return q->q_head;
}

uint64_t reco_qnet_n_updates(const reco_qnet *q)
{
    return q->n_updates;
}

int reco_qnet_param_bounds(double *min_out, double *max_out, reco_qnet_param param)
{
    if (min_out == NULL || max_out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_param_bounds: NULL output");
    switch (param) {
    case RECO_QNET_PARAM_GAMMA: *min_out = 0.0; *max_out = 1.0; return RECO_OK;
    case RECO_QNET_PARAM_LR: return reco_model_param_bounds(min_out, max_out, RECO_MODEL_PARAM_LR);
    case RECO_QNET_PARAM_TAU: *min_out = 0.0; *max_out = 1.0; return RECO_OK;
    case RECO_QNET_PARAM_HUBER_DELTA: *min_out = 1e-12; *max_out = (double)FLT_MAX; return RECO_OK;
    }
    return reco__error_set(RECO_EINVAL, "reco_qnet_param_bounds: unknown parameter %d",
                           (int)param);
}

int reco_qnet_set_param(reco_qnet *q, reco_qnet_param param, double value)
{
    double lo = 0.0, hi = 0.0;
    if (q == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_set_param: q is NULL");
    int rc = reco_qnet_param_bounds(&lo, &hi, param);
    if (rc < 0)
        return rc;
    if (!(value >= lo && value <= hi))
        return reco__error_set(RECO_EINVAL, "reco_qnet_set_param: %g is out of range [%g, %g]",
                               value, lo, hi);
    switch (param) {
    case RECO_QNET_PARAM_GAMMA: q->opts.gamma = (float)value; break;
    case RECO_QNET_PARAM_LR: return reco_model_set_param(q->online, RECO_MODEL_PARAM_LR, value);
    case RECO_QNET_PARAM_TAU: q->opts.tau = (float)value; break;
    case RECO_QNET_PARAM_HUBER_DELTA: q->opts.huber_delta = (float)value; break;
    }
    return RECO_OK;
}

int reco_qnet_get_param(double *out, const reco_qnet *q, reco_qnet_param param)
{
    if (out == NULL || q == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_get_param: NULL argument");
    switch (param) {
    case RECO_QNET_PARAM_GAMMA: *out = q->opts.gamma; return RECO_OK;
    case RECO_QNET_PARAM_LR: return reco_model_get_param(out, q->online, RECO_MODEL_PARAM_LR);
    case RECO_QNET_PARAM_TAU: *out = q->opts.tau; return RECO_OK;
    case RECO_QNET_PARAM_HUBER_DELTA: *out = q->opts.huber_delta; return RECO_OK;
    }
    return reco__error_set(RECO_EINVAL, "reco_qnet_get_param: unknown parameter %d", (int)param);
}
