/* The session loop (see lib/runner_private.h): the only library code that calls an env's
 * reset(), candidates() and step() to play sessions. */
#include <math.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "policy_private.h"
#include "runner_private.h"

typedef struct slot_info {
    uint64_t user, session;
    uint32_t len; /* steps taken */
    int running;
} slot_info;

struct reco__runner {
    reco_allocator a;
    reco__runner_config c;
    int states_wanted;
    slot_info *slot;              /* (P) */
    uint32_t n_act;
    uint32_t *act;                /* (P) the running slots, in row order */
    uint32_t *reset_slots;        /* (P) */
    uint64_t *reset_users;        /* (P) */
    uint64_t *users, *sessions;   /* (P) per row */
    uint32_t *steps, *counts, *idx, *fb, *keep;
    int32_t *cand, *shown;
    float *prop, *reward;
    int *done;
    uint8_t *over;
    reco__states st;
    int have_st;
};

void reco__runner_free(reco__runner *r)
{
    if (r == NULL)
        return;
    reco_allocator a = r->a;
    void *all[] = {r->slot, r->act, r->reset_slots, r->reset_users, r->users, r->sessions,
                   r->steps, r->counts, r->idx, r->fb, r->keep, r->cand, r->shown,
                   r->prop, r->reward, r->done, r->over};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        reco__free(&a, all[i]);
    if (r->have_st)
        reco__states_free(&r->st);
    reco__free(&a, r);
}

int reco__runner_create(reco__runner **out, const reco_allocator *a,
                        const reco__runner_config *cfg)
{
    *out = NULL;
    reco__runner *r = reco__calloc(a, 1, sizeof *r);
    if (r == NULL)
        return RECO_ENOMEM;
    r->a = *a;
    r->c = *cfg;
    const reco_policy *pol = cfg->policy;
    r->states_wanted = cfg->observe || reco__policy_reads_states(pol);
    const size_t P = cfg->P, C = cfg->C;
    r->slot = reco__calloc(a, P, sizeof *r->slot);
    r->act = reco__calloc(a, P, sizeof(uint32_t));
    r->reset_slots = reco__calloc(a, P, sizeof(uint32_t));
    r->reset_users = reco__calloc(a, P, sizeof(uint64_t));
    r->users = reco__calloc(a, P, sizeof(uint64_t));
    r->sessions = reco__calloc(a, P, sizeof(uint64_t));
    r->steps = reco__calloc(a, P, sizeof(uint32_t));
    r->counts = reco__calloc(a, P, sizeof(uint32_t));
    r->idx = reco__calloc(a, P, sizeof(uint32_t));
    r->fb = reco__calloc(a, P, sizeof(uint32_t));
    r->keep = reco__calloc(a, P, sizeof(uint32_t));
    r->cand = reco__calloc(a, P * C, sizeof(int32_t));
    r->shown = reco__calloc(a, P, sizeof(int32_t));
    r->prop = reco__calloc(a, P, sizeof(float));
    r->reward = reco__calloc(a, P, sizeof(float));
    r->done = reco__calloc(a, P, sizeof(int));
    r->over = reco__calloc(a, P, sizeof(uint8_t));
    if (!r->slot || !r->act || !r->reset_slots || !r->reset_users || !r->users ||
        !r->sessions || !r->steps || !r->counts || !r->idx || !r->fb || !r->keep || !r->cand ||
        !r->shown || !r->prop || !r->reward || !r->done || !r->over) {
        reco__runner_free(r);
        return RECO_ENOMEM;
    }
    if (r->states_wanted) {
        int rc = reco__states_init(&r->st, a, cfg->env, P);
        if (rc < 0) {
            reco__runner_free(r);
            return rc;
        }
        r->have_st = 1;
    }
    *out = r;
    return RECO_OK;
}

uint32_t reco__runner_running(const reco__runner *r)
{
    return r->n_act;
}

void reco__runner_adopt(reco__runner *r, uint32_t slot, uint64_t user, uint64_t session,
                        uint32_t steps)
{
    slot_info *s = &r->slot[slot];
    if (!s->running)
        r->act[r->n_act++] = slot;
    s->user = user;
    s->session = session;
    s->len = steps;
    s->running = 1;
    if (r->c.order == RECO__ROWS_BY_SLOT) { /* keep the rows sorted by slot */
        uint32_t n = 0;
        for (uint32_t p = 0; p < r->c.P; p++)
            if (r->slot[p].running)
                r->act[n++] = p;
    }
}

/* Asks the schedule for slot p's next session; on one, queues its reset. */
static int schedule_slot(reco__runner *r, uint32_t p, uint32_t *n_reset)
{
    uint64_t user = 0, session = 0;
    int rc = r->c.schedule(r->c.schedule_payload, p, &user, &session);
    if (rc < 0)
        return rc;
    slot_info *s = &r->slot[p];
    s->running = rc > 0;
    if (rc > 0) {
        s->user = user;
        s->session = session;
        s->len = 0;
        r->reset_slots[*n_reset] = p;
        r->reset_users[(*n_reset)++] = user;
    }
    return RECO_OK;
}

static int reset_queued(reco__runner *r, uint32_t n_reset)
{
    uint64_t cb_gen = 0;
    const reco_env *env = r->c.env;
    if (n_reset == 0)
        return RECO_OK;
    return RECO__CALLBACK(cb_gen, "the env's reset()",
                          env->reset(r->reset_slots, r->reset_users, n_reset, env->payload));
}

int reco__runner_start(reco__runner *r)
{
    uint32_t n_reset = 0;
    r->n_act = 0;
    for (uint32_t p = 0; p < r->c.P; p++) {
        int rc = schedule_slot(r, p, &n_reset);
        if (rc < 0)
            return rc;
    }
    for (uint32_t i = 0; i < n_reset; i++)
        r->act[r->n_act++] = r->reset_slots[i];
    return reset_queued(r, n_reset);
}

/* The policy's choice for the n running rows, with propensities from a version-3 policy. */
static int choose(reco__runner *r, uint32_t n)
{
    uint64_t cb_gen = 0;
    const reco_policy *pol = r->c.policy;
    for (uint32_t i = 0; i < n; i++)
        r->prop[i] = NAN;
    if (pol->version >= 3 && pol->choose_sessions != NULL) {
        reco_batch b = RECO_BATCH_INIT; /* no state when the policy reads none */
        if (r->states_wanted)
            b = reco__states_batch(&r->st, 0, n);
        b.size = n;
        b.n_candidates = r->c.C;
        b.candidates = r->cand;
        b.shared_candidates = 0;
        reco_policy_sessions ps = RECO_POLICY_SESSIONS_INIT;
        ps.slots = r->act;
        ps.users = r->users;
        ps.sessions = r->sessions;
        ps.propensity_out = r->prop;
        return RECO__CALLBACK(cb_gen, "the policy's choose_sessions()",
                              pol->choose_sessions(r->idx, &b, r->counts, &ps, pol->payload));
    }
    return reco__policy_choose(r->idx, pol, &r->st, r->cand, r->counts, r->c.C, n);
}

int reco__runner_round(reco__runner *r)
{
    uint64_t cb_gen = 0;
    const reco__runner_config *c = &r->c;
    const reco_env *env = c->env;
    const uint32_t n = r->n_act, C = c->C;
    int rc;
    if (n == 0)
        return RECO_OK;
    for (uint32_t i = 0; i < n; i++) {
        const slot_info *s = &r->slot[r->act[i]];
        r->users[i] = s->user;
        r->sessions[i] = s->session;
        r->steps[i] = s->len;
    }
    if (r->states_wanted && (rc = reco__states_observe(&r->st, env, r->act, n, r->steps)) < 0)
        return rc;
    if ((rc = RECO__CALLBACK(cb_gen, "the env's candidates()",
                             env->candidates(r->cand, r->counts, C, r->act, n,
                                             env->payload))) < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        if (r->counts[i] == 0 || r->counts[i] > C)
            return reco__error_set(RECO_EINVAL, "%s: the env gave slot %u %u candidates "
                                   "(need 1..%u)", c->fn, r->act[i], r->counts[i], C);
        if (c->check_items) {
            const int32_t *ci = r->cand + (size_t)i * C;
            for (uint32_t k = 0; k < r->counts[i]; k++)
                if (ci[k] < 0 || (uint32_t)ci[k] >= env->n_items)
                    return reco__error_set(RECO_EINVAL, "%s: the env returned item %d for slot "
                                           "%u (the catalog has %u items)", c->fn, ci[k],
                                           r->act[i], env->n_items);
        }
    }
    if ((rc = choose(r, n)) < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        if (r->idx[i] >= r->counts[i])
            return reco__error_set(RECO_EINVAL, "%s: %s chose index %u of %u candidates",
                                   c->fn, c->who != NULL ? c->who : "the policy", r->idx[i],
                                   r->counts[i]);
        r->shown[i] = r->cand[(size_t)i * C + r->idx[i]];
    }
    reco__round rd;
    memset(&rd, 0, sizeof rd);
    rd.n = n;
    rd.slots = r->act;
    rd.users = r->users;
    rd.sessions = r->sessions;
    rd.steps = r->steps;
    rd.st = r->states_wanted ? &r->st : NULL;
    rd.cand = r->cand;
    rd.counts = r->counts;
    rd.C = C;
    rd.idx = r->idx;
    rd.shown = r->shown;
    rd.prop = r->prop;
    for (uint32_t k = 0; k < c->n_sinks; k++)
        if (c->sinks[k].before_step != NULL &&
            (rc = c->sinks[k].before_step(c->sinks[k].payload, &rd)) < 0)
            return rc;
    if ((rc = RECO__CALLBACK(cb_gen, "the env's step()",
                             env->step(r->fb, r->reward, r->done, r->act, r->shown, n,
                                       env->payload))) < 0)
        return rc;
    const uint32_t F = env->n_signals;
    for (uint32_t i = 0; i < n; i++) {
        if (F < 32 && (r->fb[i] >> F) != 0)
            return reco__error_set(RECO_EINVAL, "%s: the env returned feedback 0x%x for slot "
                                   "%u, with bits at or above its %u signals", c->fn, r->fb[i],
                                   r->act[i], F);
        slot_info *s = &r->slot[r->act[i]];
        s->len++;
        r->over[i] = r->done[i] != RECO_ENV_CONTINUE ||
                     (c->max_steps != 0 && s->len >= c->max_steps);
    }
    rd.fb = r->fb;
    rd.reward = r->reward;
    rd.done = r->done;
    rd.over = r->over;
    for (uint32_t k = 0; k < c->n_sinks; k++)
        if (c->sinks[k].after_step != NULL &&
            (rc = c->sinks[k].after_step(c->sinks[k].payload, &rd)) < 0)
            return rc;
    uint32_t n_reset = 0, n_keep = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < c->n_sinks; k++)
            if (c->sinks[k].on_row != NULL &&
                (rc = c->sinks[k].on_row(c->sinks[k].payload, &rd, i)) < 0)
                return rc;
        const uint32_t p = r->act[i];
        if (!r->over[i])
            r->keep[n_keep++] = p;
        else if ((rc = schedule_slot(r, p, &n_reset)) < 0)
            return rc;
    }
    /* the next round's rows (r->act is the round's slots list until here) */
    if (c->order == RECO__ROWS_BY_SLOT) {
        uint32_t m = 0;
        for (uint32_t p = 0; p < c->P; p++)
            if (r->slot[p].running)
                r->act[m++] = p;
        r->n_act = m;
    } else {
        memcpy(r->act, r->keep, n_keep * sizeof(uint32_t));
        memcpy(r->act + n_keep, r->reset_slots, n_reset * sizeof(uint32_t));
        r->n_act = n_keep + n_reset;
    }
    return reset_queued(r, n_reset);
}

int reco__runner_run(reco__runner *r, int (*after_round)(void *payload), void *payload)
{
    while (r->n_act > 0) {
        int rc = reco__runner_round(r);
        if (rc < 0)
            return rc;
        if (after_round != NULL && (rc = after_round(payload)) < 0)
            return rc;
    }
    return RECO_OK;
}
