/* Simulator audit (see include/reco/audit.h): one reco_run_sessions() per side, whose step
 * observer accumulates the rates by popularity bucket and by user segment. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "reco/audit.h"

int reco_audit_options_init(reco_audit_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_audit_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_AUDIT_OPTIONS_VERSION, "reco_audit_options");
    if (rc < 0)
        return rc;
    const reco_audit_options d = RECO_AUDIT_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

typedef struct audit_side {
    reco_audit_stats *all, *bucket, *segment;
    const uint8_t *item_bucket;     /* (n_items) */
    const uint32_t *user_segment;   /* (n_users) or NULL */
    uint32_t F;
} audit_side;

static void add_step(reco_audit_stats *s, const reco_run_step *r, uint32_t F)
{
    s->steps++;
    for (uint32_t f = 0; f < F; f++)
        s->count[f] += (r->feedback >> f) & 1u;
    if (r->done == RECO_ENV_EXIT)
        s->exits++;
    else if (r->done == RECO_ENV_TRUNCATED)
        s->truncated++;
}

static void on_step(const reco_run_step *steps, uint32_t n, void *payload)
{
    audit_side *a = payload;
    for (uint32_t i = 0; i < n; i++) {
        const reco_run_step *r = &steps[i];
        add_step(a->all, r, a->F);
        add_step(&a->bucket[a->item_bucket[r->item]], r, a->F);
        add_step(&a->segment[a->user_segment != NULL ? a->user_segment[r->session] : 0], r,
                 a->F);
    }
}

static void finish(reco_audit_stats *s, uint32_t F)
{
    const double n = (double)s->steps;
    for (uint32_t f = 0; f < F; f++)
        s->rate[f] = s->steps > 0 ? (double)s->count[f] / n : 0.0;
    s->rate[F] = s->steps > 0 ? (double)s->exits / n : 0.0;
}

typedef struct pop_rank {
    float pop;
    int32_t id;
} pop_rank;

static int cmp_pop(const void *x, const void *y)
{
    const pop_rank *a = x, *b = y;
    if (a->pop != b->pop)
        return a->pop < b->pop ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Run one side; session-level members come from the per-session depths and returns. */
static int run_side(reco_audit_stats *all, reco_audit_stats *bucket, reco_audit_stats *segment,
                    const reco_env *env, const reco_policy *policy, const uint64_t *users,
                    uint32_t n_users, const uint8_t *item_bucket, const reco_audit_options *o,
                    uint32_t *depth, float *ret)
{
    audit_side side = {all, bucket, segment, item_bucket, o->user_segment, env->n_signals};
    reco_run_options ro = RECO_RUN_OPTIONS_INIT;
    ro.allocator = o->allocator;
    ro.parallel = o->parallel;
    ro.max_candidates = o->max_candidates;
    ro.max_steps = o->max_steps;
    ro.on_step = on_step;
    ro.on_step_payload = &side;
    reco_run_stats st = RECO_RUN_STATS_INIT;
    int rc = reco_run_sessions(&st, depth, ret, env, policy, users, n_users, &ro);
    if (rc < 0)
        return rc;
    all->sessions = st.sessions;
    all->truncated = st.truncated + st.cut;
    double sum_ret = 0.0;
    for (uint32_t k = 0; k < n_users; k++) {
        reco_audit_stats *g = &segment[o->user_segment != NULL ? o->user_segment[k] : 0];
        g->sessions++;
        g->mean_return += ret[k]; /* a sum until the end */
        sum_ret += ret[k];
    }
    all->mean_depth = (double)all->steps / (double)n_users;
    all->mean_return = sum_ret / (double)n_users;
    for (uint32_t g = 0; g < o->n_segments; g++)
        if (segment[g].sessions > 0) {
            segment[g].mean_depth = (double)segment[g].steps / (double)segment[g].sessions;
            segment[g].mean_return /= (double)segment[g].sessions;
        }
    return RECO_OK;
}

static void worst(uint32_t *idx_out, double *gap_out, const reco_audit_stats *sim,
                  const reco_audit_stats *real, uint32_t n, uint32_t R)
{
    for (uint32_t r = 0; r < R; r++) {
        idx_out[r] = 0;
        gap_out[r] = 0.0;
        double best = -1.0;
        for (uint32_t g = 0; g < n; g++) {
            if (sim[g].steps == 0 || real[g].steps == 0)
                continue;
            const double d = sim[g].rate[r] - real[g].rate[r];
            if (fabs(d) > best) {
                best = fabs(d);
                idx_out[r] = g;
                gap_out[r] = d;
            }
        }
    }
}

int reco_audit_run(reco_audit_report *out, const reco_env *sim, const reco_env *real,
                   const reco_policy *policy, const uint64_t *users, uint32_t n_users,
                   const reco_audit_options *opts)
{
    static const char fn[] = "reco_audit_run";
    if (out == NULL || sim == NULL || real == NULL || policy == NULL || users == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    if (out->version < 1 || out->version > RECO_AUDIT_REPORT_VERSION)
        return reco__error_set(RECO_EVERSION, "%s: reco_audit_report version %u is not in "
                               "[1, %d]", fn, out->version, RECO_AUDIT_REPORT_VERSION);
    if (n_users == 0)
        return reco__error_set(RECO_EINVAL, "%s: n_users is 0", fn);
    reco_audit_options o = RECO_AUDIT_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_AUDIT_OPTIONS_VERSION,
                                     "reco_audit_options");
        if (rc < 0)
            return rc;
        o = *opts;
    }
    if (sim->n_items != real->n_items || sim->n_signals != real->n_signals ||
        sim->lookback != real->lookback || sim->user_dim != real->user_dim)
        return reco__error_set(RECO_EINVAL, "%s: the envs differ: n_items %u / %u, n_signals "
                               "%u / %u, lookback %u / %u, user_dim %u / %u", fn, sim->n_items,
                               real->n_items, sim->n_signals, real->n_signals, sim->lookback,
                               real->lookback, sim->user_dim, real->user_dim);
    const uint32_t N = real->n_items, F = real->n_signals;
    if (N == 0 || F > RECO_AUDIT_MAX_SIGNALS)
        return reco__error_set(RECO_EINVAL, "%s: the envs have %u items and %u signals (need "
                               ">= 1 item and at most %d signals)", fn, N, F,
                               RECO_AUDIT_MAX_SIGNALS);
    if (o.item_popularity == NULL)
        o.n_buckets = 1;
    if (o.n_buckets < 1 || o.n_buckets > RECO_AUDIT_MAX_BUCKETS || o.n_buckets > N)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "audit.n_buckets",
                                  "%u is out of range [1, %u]", o.n_buckets,
                                  N < RECO_AUDIT_MAX_BUCKETS ? N : RECO_AUDIT_MAX_BUCKETS);
    if (o.n_segments < 1 || o.n_segments > RECO_AUDIT_MAX_SEGMENTS)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "audit.n_segments",
                                  "%u is out of range [1, %d]", o.n_segments,
                                  RECO_AUDIT_MAX_SEGMENTS);
    if (o.user_segment != NULL)
        for (uint32_t k = 0; k < n_users; k++)
            if (o.user_segment[k] >= o.n_segments)
                return reco__error_set(RECO_EINVAL, "%s: user %u is in segment %u, not below "
                                       "n_segments %u", fn, k, o.user_segment[k], o.n_segments);
    if (o.item_popularity != NULL)
        for (uint32_t i = 0; i < N; i++)
            if (!isfinite(o.item_popularity[i]))
                return reco__error_set(RECO_EINVAL, "%s: the popularity of item %u is not "
                                       "finite", fn, i);
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    uint8_t *item_bucket = reco__calloc(&a, N, 1);
    pop_rank *rank = o.item_popularity != NULL ? reco__calloc(&a, N, sizeof *rank) : NULL;
    uint32_t *depth = reco__calloc(&a, n_users, sizeof(uint32_t));
    float *ret = reco__calloc(&a, n_users, sizeof(float));
    reco_audit_report rep;
    memset(&rep, 0, sizeof rep);
    if (item_bucket == NULL || depth == NULL || ret == NULL ||
        (o.item_popularity != NULL && rank == NULL)) {
        rc = RECO_ENOMEM;
        goto done;
    }
    rep.n_signals = F;
    rep.n_sessions = n_users;
    rep.n_buckets = o.n_buckets;
    rep.n_segments = o.n_segments;
    if (o.item_popularity != NULL) {
        for (uint32_t i = 0; i < N; i++) {
            rank[i].pop = o.item_popularity[i];
            rank[i].id = (int32_t)i;
        }
        qsort(rank, N, sizeof *rank, cmp_pop);
        for (uint32_t r = 0; r < N; r++) {
            const uint32_t b = (uint32_t)((uint64_t)r * o.n_buckets / N);
            item_bucket[rank[r].id] = (uint8_t)b;
            rep.bucket_items[b]++;
            rep.bucket_max_popularity[b] = rank[r].pop; /* ascending: the last one is the max */
        }
    } else {
        rep.bucket_items[0] = N;
    }
    if ((rc = run_side(&rep.sim, rep.sim_bucket, rep.sim_segment, sim, policy, users, n_users,
                       item_bucket, &o, depth, ret)) < 0)
        goto done;
    if ((rc = run_side(&rep.real, rep.real_bucket, rep.real_segment, real, policy, users,
                       n_users, item_bucket, &o, depth, ret)) < 0)
        goto done;
    finish(&rep.sim, F);
    finish(&rep.real, F);
    for (uint32_t b = 0; b < rep.n_buckets; b++) {
        finish(&rep.sim_bucket[b], F);
        finish(&rep.real_bucket[b], F);
    }
    for (uint32_t g = 0; g < rep.n_segments; g++) {
        finish(&rep.sim_segment[g], F);
        finish(&rep.real_segment[g], F);
    }
    worst(rep.worst_bucket, rep.worst_bucket_gap, rep.sim_bucket, rep.real_bucket,
          rep.n_buckets, F + 1);
    worst(rep.worst_segment, rep.worst_segment_gap, rep.sim_segment, rep.real_segment,
          rep.n_segments, F + 1);
    rep.version = out->version;
    *out = rep;
    rc = RECO_OK;
done:
    reco__free(&a, item_bucket);
    reco__free(&a, rank);
    reco__free(&a, depth);
    reco__free(&a, ret);
    return rc;
}

int reco_audit_world(reco_audit_report *out, const reco_env *sim, reco_world *world,
                     const reco_policy *policy, uint64_t first, uint32_t n,
                     const reco_audit_options *opts)
{
    static const char fn[] = "reco_audit_world";
    if (out == NULL || sim == NULL || world == NULL || policy == NULL)
        return reco__error_set(RECO_EINVAL, "%s: NULL argument", fn);
    if (n == 0)
        return reco__error_set(RECO_EINVAL, "%s: n is 0", fn);
    reco_audit_options o = RECO_AUDIT_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_AUDIT_OPTIONS_VERSION,
                                     "reco_audit_options");
        if (rc < 0)
            return rc;
        o = *opts;
    }
    if (o.item_popularity != NULL || o.user_segment != NULL || o.n_segments != 1)
        return reco__error_set(RECO_EINVAL, "%s: item_popularity, user_segment and n_segments "
                               "come from the world; leave them at their defaults", fn);
    reco_env real;
    int rc = reco_world_env(&real, world);
    if (rc < 0)
        return rc;
    reco_allocator a;
    if ((rc = reco__allocator_resolve(&a, o.allocator)) < 0)
        return rc;
    const uint32_t N = real.n_items;
    float *pop = reco__calloc(&a, N, sizeof(float));
    int32_t *ids = reco__calloc(&a, N, sizeof(int32_t));
    uint64_t *keys = reco__calloc(&a, n, sizeof(uint64_t));
    uint32_t *seg = reco__calloc(&a, n, sizeof(uint32_t));
    if (pop == NULL || ids == NULL || keys == NULL || seg == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    for (uint32_t i = 0; i < N; i++)
        ids[i] = (int32_t)i;
    if ((rc = reco_world_item_info(NULL, NULL, NULL, pop, world, ids, N)) < 0 ||
        (rc = reco_world_eval_users(keys, world, first, n)) < 0 ||
        (rc = reco_world_user_segment(seg, world, keys, n)) < 0)
        goto done;
    o.item_popularity = pop;
    o.user_segment = seg;
    o.n_segments = RECO_WORLD_N_SEGMENTS;
    rc = reco_audit_run(out, sim, &real, policy, keys, n, &o);
done:
    reco__free(&a, pop);
    reco__free(&a, ids);
    reco__free(&a, keys);
    reco__free(&a, seg);
    return rc;
}
