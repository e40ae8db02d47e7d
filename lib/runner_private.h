/* The one session loop of the library (lib/runner.c): every caller that plays sessions in a
 * reco_env — the public runner reco_run_sessions(), the evaluator, the log generator and the
 * trainer's generators — drives a reco__runner, and no other library file calls the env's
 * step(). A caller supplies
 *   - a policy (any reco_policy; the loop hands it the states, and to a version-3 policy the
 *     slots, the session keys and a propensity output),
 *   - a schedule, which says which session (if any) a free slot plays next, and
 *   - sinks, which see each round: before the step (after the choice), after it (all rows),
 *     and row by row in order (where each row's session may end, before the schedule is asked
 *     for that slot's next session).
 * One round: observe() / context() the running rows (when states are wanted), candidates(),
 * the policy's choice, the sinks' before_step, step(), the sinks' after_step, then per row
 * the sinks' on_row and, for a session that is over (the env's done, or the loop's own
 * max_steps), the schedule; last, one reset() of every slot that starts a session. */
#ifndef RECO_RUNNER_PRIVATE_H
#define RECO_RUNNER_PRIVATE_H

#include <stdint.h>

#include "reco/alloc.h"
#include "reco/env.h"
#include "reco/policy.h"
#include "state_private.h"

/* What the sinks see of a round; row i is slot slots[i]. Borrowed for the hook's call. */
typedef struct reco__round {
    uint32_t n;               /* rows */
    const uint32_t *slots;    /* (n) env slots */
    const uint64_t *users;    /* (n) what reset() received for the row's session */
    const uint64_t *sessions; /* (n) the session's number, from the schedule */
    const uint32_t *steps;    /* (n) steps taken in the session before this one */
    const reco__states *st;   /* rows' states, when the runner observes (else NULL) */
    const int32_t *cand;      /* (n, C) candidates */
    const uint32_t *counts;   /* (n) */
    uint32_t C;
    const uint32_t *idx;      /* (n) chosen positions */
    const int32_t *shown;     /* (n) items shown */
    const float *prop;        /* (n) the policy's probability of its choice; NaN unknown */
    /* after the step: */
    const uint32_t *fb;       /* (n) feedback bits */
    const float *reward;      /* (n) */
    const int *done;          /* (n) the env's done */
    const uint8_t *over;      /* (n) the session is over (done, or cut at max_steps) */
} reco__round;

/* A sink: any hook may be NULL; a negative return stops the loop with that status. */
typedef struct reco__sink {
    int (*before_step)(void *payload, const reco__round *r);
    int (*after_step)(void *payload, const reco__round *r);
    int (*on_row)(void *payload, const reco__round *r, uint32_t i);
    void *payload;
} reco__sink;

/* Which session slot `slot` plays next: 1 and the key for reset() and the session's number,
 * 0 for none (the slot idles), or a negative status. */
typedef int (*reco__schedule_fn)(void *payload, uint32_t slot, uint64_t *user_out,
                                 uint64_t *session_out);

typedef enum reco__row_order {
    RECO__ROWS_KEEP_THEN_NEW = 0, /* the running rows in their order, then the new sessions */
    RECO__ROWS_BY_SLOT = 1        /* every round in slot order */
} reco__row_order;

typedef struct reco__runner_config {
    const reco_env *env;
    const reco_policy *policy;
    uint32_t P;                  /* slots 0 .. P-1 */
    uint32_t C;                  /* candidates asked per step */
    uint32_t max_steps;          /* the loop cuts a session after this many steps; 0: never */
    reco__row_order order;
    int observe;                 /* read the states each round (else only when the policy
                                    needs them: choose_states() or choose_sessions()) */
    int check_items;             /* refuse candidates outside 0 .. n_items-1 */
    const char *fn;              /* the public function, for messages */
    const char *who;             /* the policy in messages ("policy 2"); NULL: "the policy" */
    reco__schedule_fn schedule;
    void *schedule_payload;
    const reco__sink *sinks;     /* borrowed */
    uint32_t n_sinks;
} reco__runner_config;

typedef struct reco__runner reco__runner;

/* A runner over cfg (copied; the env, policy and sinks are borrowed). RECO_ENOMEM. */
int reco__runner_create(reco__runner **out, const reco_allocator *a,
                        const reco__runner_config *cfg);
void reco__runner_free(reco__runner *r);

/* Asks the schedule for a session for every slot 0 .. P-1 in order and resets those that
 * have one (one reset() call). */
int reco__runner_start(reco__runner *r);

/* Marks `slot` as running a session that has already taken `steps` steps (a resumed
 * generator), without calling the env. */
void reco__runner_adopt(reco__runner *r, uint32_t slot, uint64_t user, uint64_t session,
                        uint32_t steps);

/* One round of every running slot. */
int reco__runner_round(reco__runner *r);

/* Slots running a session. */
uint32_t reco__runner_running(const reco__runner *r);

/* Rounds until no slot runs a session; `after_round` (may be NULL) is called after each. */
int reco__runner_run(reco__runner *r, int (*after_round)(void *payload), void *payload);

#endif /* RECO_RUNNER_PRIVATE_H */
