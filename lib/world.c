/* reco_world: the ground-truth world. Equations and assumptions in docs/world.md; API in
 * include/reco/world.h.
 *
 * Memory: one allocation at creation holds the handle, the catalog (attributes, alias table
 * of the popularity prior, items grouped by topic), every slot's state (interests,
 * fatigue, the observed window, the long-term history, user features, a candidate buffer
 * and a hash table for distinct draws) and, with carry_history, every user's stored
 * history (a ring of the last R = max(L, H) interactions and a count); nothing else is
 * ever allocated but the alias table's work lists during creation.
 *
 * Randomness: every draw comes from a reco_rng seeded with (world seed, stream), the stream
 * a hash of a tag and the identifiers the draw may depend on (user; session key; key and
 * step). Nothing random depends on the order of calls, on other slots or on the policy's
 * earlier choices, which is what makes common random numbers hold (world.h). The one state
 * kept across sessions, the users' stored histories (carry_history), is written only by
 * logged sessions, so evaluation sessions keep common random numbers too.
 *
 * Concurrency: the catalog is written only by create; every call on slots writes only the
 * state of the slots it was given (duplicate detection uses a mark in the slot itself), so
 * calls on disjoint slots may run in parallel. A user's stored history is written by the
 * steps of that user's logged sessions only, and read when a session of that user starts;
 * world.h forbids two sessions of one user at once while carrying. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "alias_private.h"
#include "alloc_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "world_private.h"
#include "reco/model.h"

#define MAX_ITEMS (1u << 26)
#define MAX_TOPICS 4096u
#define MAX_LOOKBACK 512u
#define MAX_CANDIDATES (1u << 20)
#define MAX_SESSION_LEN 1000000u
#define MAX_SESSIONS (1u << 20)
/* Popularity draws of one candidate that may hit already drawn items before it is drawn
 * uniformly instead (a catalog whose popularity sits on few items). */
#define POP_RETRIES 32

enum { SLOT_IDLE = 0, SLOT_RUNNING = 1, SLOT_OVER = 2 };

/* Stream tags: what a generator's draws may depend on. */
enum {
    TAG_CATALOG = 1, /* (seed) */
    TAG_USER = 2,    /* (seed, user) */
    TAG_HISTORY = 3, /* (seed, key) */
    TAG_CAND = 4,    /* (seed, key, step) */
    TAG_STEP = 5,    /* (seed, key, step) */
    TAG_USER_FEATURES = 6, /* (seed, user): the noise of the user features */
    TAG_ITEM_FEATURES = 7  /* (seed, item): the noise of the item features */
};

/* Session keys with this bit set (ordinal >= 2^31) are evaluation sessions: they never
 * write the users' stored histories. */
#define EVAL_KEY_BIT (1ull << 63)

typedef struct world_slot {
    uint64_t key;
    uint32_t user;
    uint32_t steps;
    int status;
    int exited;
    int mark; /* set while a call is checking its slot list for repeats */
    uint32_t segment;
    uint32_t hist_count; /* valid entries at the end of the window */
    double exit_base;
    double satisfaction;
    double elapsed;      /* seconds of the session's steps so far */
    double *interest;    /* (K), sums to 1 */
    double *fatigue;     /* (K) */
    int32_t *hist_items; /* (L), right-aligned: pads first, newest last */
    uint32_t *hist_fb;   /* (L) */
    int32_t *long_items; /* (H) interactions before the session, right-aligned */
    uint32_t *long_fb;   /* (H) */
    float *features;     /* (U) user features of the session's user */
    int32_t *cand;       /* (C) candidates of the current step */
    uint32_t *hash;      /* (hash_cap) item + 1, 0 = empty */
} world_slot;

struct reco_world {
    reco_allocator alloc;
    reco_world_options o; /* as created; o.allocator is NULL */
    size_t bytes;
    uint32_t n_items, K, L, C, S;
    uint32_t H; /* long_len */
    uint32_t R; /* stored interactions per user: max(L, H) with carry_history, else 0 */
    uint32_t U; /* user_dim: 3 + K with user_features, else 0 */
    uint32_t hash_cap, hash_shift;
    uint32_t n_popular; /* candidates drawn by popularity per step */
    float reward_w[RECO_WORLD_N_SIGNALS]; /* the declared reward weights (reco_env v4) */
    uint32_t *topic;    /* (n_items) */
    float *quality;     /* (n_items) */
    float *clickbait;   /* (n_items) */
    float *popularity;  /* (n_items), sums to 1 */
    float *alias_prob;  /* (n_items) Walker/Vose alias table of the popularity */
    uint32_t *alias;    /* (n_items) */
    uint32_t *by_topic; /* (n_items) item ids grouped by topic */
    uint32_t *topic_start; /* (K + 1) offsets into by_topic */
    double *topic_prior;   /* (K) topic popularity, sums to 1 */
    float *pop_z;          /* (n_items) log popularity standardised over the catalog */
    world_slot *slots;     /* (S) */
    /* carry_history: per user, a ring of the last R interactions of its logged sessions
     * (entry j of the user's sequence at position j mod R) and the sequence's length */
    uint64_t *user_count;  /* (n_users) */
    int32_t *user_items;   /* (n_users, R) */
    uint32_t *user_fb;     /* (n_users, R) */
};

/* ---- small maths ---------------------------------------------------------------------- */

static double sigmoid(double x)
{
    return 1.0 / (1.0 + reco__exp(-x));
}

/* SplitMix64's finaliser: a bijective 64-bit mix. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t stream_id(uint64_t tag, uint64_t a, uint64_t b)
{
    return mix64(mix64(mix64(tag * 0x9e3779b97f4a7c15ull) ^ a) + b * 0xd1b54a32d192ed03ull);
}

static void seed_rng(reco_rng *r, const reco_world *w, uint64_t tag, uint64_t a, uint64_t b)
{
    (void)reco_rng_seed(r, w->o.seed, stream_id(tag, a, b));
}

/* A uniform draw in (0, 1]: safe under log(). */
static double uniform_pos(reco_rng *r)
{
    return 1.0 - reco_rng_uniform(r);
}

/* log of a Gamma(a, 1) draw, a > 0 (Marsaglia and Tsang; a < 1 through the boost
 * G(a) = G(a + 1) U^(1/a), kept in logs so that tiny shapes do not underflow to 0). */
static double log_gamma_draw(reco_rng *r, double a)
{
    double boost = 0.0;
    if (a < 1.0) {
        boost = reco__log(uniform_pos(r)) / a;
        a += 1.0;
    }
    const double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        const double x = reco_rng_normal(r);
        double v = 1.0 + c * x;
        if (v <= 0.0)
            continue;
        v = v * v * v;
        const double u = uniform_pos(r);
        if (reco__log(u) < 0.5 * x * x + d - d * v + d * reco__log(v))
            return reco__log(d * v) + boost;
    }
}

static double beta_draw(reco_rng *r, double a, double b)
{
    const double la = log_gamma_draw(r, a), lb = log_gamma_draw(r, b);
    return 1.0 / (1.0 + reco__exp(lb - la));
}

/* ---- options --------------------------------------------------------------------------- */

/* Bytes of a version-`version` options struct: the library reads and writes no further
 * (a version-1 struct ends before exclude_seen, a version-2 one before carry_history). */
static size_t options_size(unsigned int version)
{
    return version >= 3   ? sizeof(reco_world_options)
           : version == 2 ? offsetof(reco_world_options, carry_history)
                          : offsetof(reco_world_options, exclude_seen);
}

int reco_world_options_init(reco_world_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_WORLD_OPTIONS_VERSION, "reco_world_options");
    if (rc < 0)
        return rc;
    const reco_world_options d = RECO_WORLD_OPTIONS_INIT;
    memcpy(opts, &d, options_size(version));
    opts->version = version;
    return RECO_OK;
}

/* Checks the scalar fields of `o` against the schema table (ranges and option paths live
 * there once). `prefix` is the option path of the mapping being checked. */
static int check_fields(const reco_world_options *o, const reco__cfg_field *fields, size_t n,
                        const char *prefix, const char *fn)
{
    const unsigned char *base = (const unsigned char *)o;
    for (size_t i = 0; i < n; i++) {
        const reco__cfg_field *f = &fields[i];
        char path[128];
        snprintf(path, sizeof path, "%s.%s", prefix, f->key);
        int rc = RECO_OK;
        switch (f->type) {
        case RECO__CFG_MAP:
            rc = check_fields(o, f->sub, f->n_sub, path, fn);
            break;
        case RECO__CFG_U32: {
            uint32_t v;
            memcpy(&v, base + f->offset, sizeof v);
            if (v < f->umin || v > f->umax)
                rc = reco__error_set_at(RECO_EINVAL, NULL, 0, 0, path,
                                        "%s: %u is out of range [%llu, %llu]", fn, v,
                                        (unsigned long long)f->umin,
                                        (unsigned long long)f->umax);
            break;
        }
        case RECO__CFG_U64: {
            uint64_t v;
            memcpy(&v, base + f->offset, sizeof v);
            if (v < f->umin || v > f->umax)
                rc = reco__error_set_at(RECO_EINVAL, NULL, 0, 0, path,
                                        "%s: %llu is out of range [%llu, %llu]", fn,
                                        (unsigned long long)v, (unsigned long long)f->umin,
                                        (unsigned long long)f->umax);
            break;
        }
        case RECO__CFG_F64: {
            double v;
            memcpy(&v, base + f->offset, sizeof v);
            if (!(v >= f->fmin && v <= f->fmax)) /* also NaN */
                rc = reco__error_set_at(RECO_EINVAL, NULL, 0, 0, path,
                                        "%s: %g is out of range [%g, %g]", fn, v, f->fmin,
                                        f->fmax);
            break;
        }
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    return RECO_OK;
}

static int resolve_options(reco_world_options *o, const reco_world_options *opts,
                           const char *fn)
{
    const reco_world_options d = RECO_WORLD_OPTIONS_INIT;
    *o = d;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_WORLD_OPTIONS_VERSION,
                                     "reco_world_options");
        if (rc < 0)
            return rc;
        /* an older struct is shorter: copy its fields only, the rest keep the defaults */
        memcpy(o, opts, options_size(opts->version));
    }
    const reco__cfg_section *sec = &reco__world_config_section;
    int rc = check_fields(o, sec->fields, sec->n_fields, sec->name, fn);
    if (rc < 0)
        return rc;
    if (o->history_len > o->lookback)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "world.history_len",
                                  "%s: history_len %u exceeds lookback %u", fn, o->history_len,
                                  o->lookback);
    if (o->n_candidates > o->n_items)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "world.n_candidates",
                                  "%s: n_candidates %u exceeds n_items %u", fn, o->n_candidates,
                                  o->n_items);
    if (o->exclude_seen && (uint64_t)o->n_candidates + o->lookback > o->n_items)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "world.exclude_seen",
                                  "%s: excluding the %u-item window needs n_candidates + "
                                  "lookback <= n_items (%u + %u > %u)", fn, o->lookback,
                                  o->n_candidates, o->lookback, o->n_items);
    if (o->n_topics > o->n_items)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "world.n_topics",
                                  "%s: n_topics %u exceeds n_items %u", fn, o->n_topics,
                                  o->n_items);
    if (o->light_share + o->heavy_share > 1.0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "world.users.heavy_share",
                                  "%s: light_share + heavy_share = %g exceeds 1", fn,
                                  o->light_share + o->heavy_share);
    return RECO_OK;
}

/* ---- layout ---------------------------------------------------------------------------- */

typedef struct layout {
    size_t topic, quality, clickbait, popularity, alias_prob, alias, by_topic, topic_start,
        topic_prior, pop_z, slots, interest, fatigue, hist_items, hist_fb, long_items, long_fb,
        features, cand, hash, user_count, user_items, user_fb, total;
} layout;

static uint32_t stored_per_user(const reco_world_options *o)
{
    if (!o->carry_history)
        return 0;
    return o->lookback > o->long_len ? o->lookback : o->long_len;
}

static size_t round64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}

/* The per-slot hash set holds the step's candidates and, with exclude_seen, the window. */
static uint32_t hash_capacity(uint32_t c)
{
    uint32_t cap = 16;
    while (cap < 2u * c)
        cap <<= 1;
    return cap;
}

/* Offsets of every array after the handle, each 64-byte aligned. The option limits keep
 * every product below 2^50 (the largest, the stored histories, below 2^32 * 2^12 * 4), so
 * 64-bit arithmetic cannot overflow; a 32-bit size_t is checked by the caller. */
static uint64_t layout_of(layout *l, const reco_world_options *o)
{
    const uint64_t n = o->n_items, K = o->n_topics, L = o->lookback, C = o->n_candidates,
                   S = o->max_sessions, H = hash_capacity(o->n_candidates + L),
                   LH = o->long_len, U = o->user_features ? 3 + K : 0,
                   R = stored_per_user(o), NU = o->carry_history ? o->n_users : 0;
    uint64_t off = round64(sizeof(reco_world));
#define PLACE(member, bytes)                                                                   \
    do {                                                                                      \
        l->member = (size_t)off;                                                              \
        off += ((uint64_t)(bytes) + 63) & ~(uint64_t)63;                                       \
    } while (0)
    PLACE(topic, n * sizeof(uint32_t));
    PLACE(quality, n * sizeof(float));
    PLACE(clickbait, n * sizeof(float));
    PLACE(popularity, n * sizeof(float));
    PLACE(alias_prob, n * sizeof(float));
    PLACE(alias, n * sizeof(uint32_t));
    PLACE(by_topic, n * sizeof(uint32_t));
    PLACE(topic_start, (K + 1) * sizeof(uint32_t));
    PLACE(topic_prior, K * sizeof(double));
    PLACE(pop_z, n * sizeof(float));
    PLACE(slots, S * sizeof(world_slot));
    PLACE(interest, S * K * sizeof(double));
    PLACE(fatigue, S * K * sizeof(double));
    PLACE(hist_items, S * L * sizeof(int32_t));
    PLACE(hist_fb, S * L * sizeof(uint32_t));
    PLACE(long_items, S * LH * sizeof(int32_t));
    PLACE(long_fb, S * LH * sizeof(uint32_t));
    PLACE(features, S * U * sizeof(float));
    PLACE(cand, S * C * sizeof(int32_t));
    PLACE(hash, S * H * sizeof(uint32_t));
    PLACE(user_count, NU * sizeof(uint64_t));
    PLACE(user_items, NU * R * sizeof(int32_t));
    PLACE(user_fb, NU * R * sizeof(uint32_t));
#undef PLACE
    l->total = (size_t)off;
    return off;
}

static int sized_layout(layout *l, const reco_world_options *o, const char *fn)
{
    const uint64_t total = layout_of(l, o);
    if (total > (uint64_t)SIZE_MAX)
        return reco__error_set(RECO_ENOMEM, "%s: %llu bytes do not fit in size_t", fn,
                               (unsigned long long)total);
    return RECO_OK;
}

int reco_world_memory_size(size_t *out, const reco_world_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_memory_size: out is NULL");
    reco_world_options o;
    int rc = resolve_options(&o, opts, "reco_world_memory_size");
    if (rc < 0)
        return rc;
    layout l;
    rc = sized_layout(&l, &o, "reco_world_memory_size");
    if (rc < 0)
        return rc;
    *out = l.total;
    return RECO_OK;
}

/* ---- catalog --------------------------------------------------------------------------- */

static int build_catalog(reco_world *w)
{
    const reco_world_options *o = &w->o;
    const uint32_t n = w->n_items, K = w->K;
    double z = 0.0;
    for (uint32_t k = 0; k < K; k++) {
        w->topic_prior[k] = reco__pow((double)k + 1.0, -o->topic_zipf);
        z += w->topic_prior[k];
    }
    for (uint32_t k = 0; k < K; k++)
        w->topic_prior[k] /= z;

    reco_rng r;
    seed_rng(&r, w, TAG_CATALOG, 0, 0);
    double max_lp = -INFINITY;
    for (uint32_t i = 0; i < n; i++) {
        /* topic by inverse CDF */
        double u = reco_rng_uniform(&r), acc = 0.0;
        uint32_t k = 0;
        for (; k + 1 < K; k++) {
            acc += w->topic_prior[k];
            if (u < acc)
                break;
        }
        w->topic[i] = k;
        const double q = beta_draw(&r, o->quality_alpha, o->quality_beta);
        const double c = beta_draw(&r, o->clickbait_alpha, o->clickbait_beta);
        const double lp = o->popularity_sigma * reco_rng_normal(&r) +
                          o->popularity_quality * q + o->popularity_clickbait * c;
        w->quality[i] = (float)q;
        w->clickbait[i] = (float)c;
        w->popularity[i] = (float)lp;
        if (lp > max_lp)
            max_lp = lp;
    }
    /* The item features' popularity column: the log popularity standardised over the
     * catalog (population sd; 0 when every item is as popular as the others). */
    double mean = 0.0, var = 0.0;
    for (uint32_t i = 0; i < n; i++)
        mean += w->popularity[i];
    mean /= n;
    for (uint32_t i = 0; i < n; i++)
        var += ((double)w->popularity[i] - mean) * ((double)w->popularity[i] - mean);
    const double sd = sqrt(var / n);
    for (uint32_t i = 0; i < n; i++)
        w->pop_z[i] = sd > 0.0 ? (float)(((double)w->popularity[i] - mean) / sd) : 0.0f;
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++)
        sum += reco__exp((double)w->popularity[i] - max_lp);
    for (uint32_t i = 0; i < n; i++)
        w->popularity[i] = (float)(reco__exp((double)w->popularity[i] - max_lp) / sum);

    /* Items grouped by topic (counting sort). */
    memset(w->topic_start, 0, (size_t)(K + 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < n; i++)
        w->topic_start[w->topic[i] + 1]++;
    for (uint32_t k = 0; k < K; k++)
        w->topic_start[k + 1] += w->topic_start[k];
    /* alias[] is free until build_alias() (and K <= n): the fill cursor of each topic. */
    uint32_t *cursor = w->alias;
    for (uint32_t k = 0; k < K; k++)
        cursor[k] = w->topic_start[k];
    for (uint32_t i = 0; i < n; i++)
        w->by_topic[cursor[w->topic[i]]++] = i;

    uint32_t *work = reco__alloc(&w->alloc, 2 * (size_t)n * sizeof(uint32_t), 0);
    if (work == NULL)
        return RECO_ENOMEM;
    reco__alias_build(w->alias_prob, w->alias, w->popularity, n, work, work + n);
    reco__free(&w->alloc, work);
    return RECO_OK;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void slots_idle(reco_world *w)
{
    for (uint32_t s = 0; s < w->S; s++) {
        world_slot *sl = &w->slots[s];
        sl->key = 0;
        sl->user = 0;
        sl->steps = 0;
        sl->status = SLOT_IDLE;
        sl->exited = 0;
        sl->mark = 0;
        sl->segment = 0;
        sl->hist_count = 0;
        sl->exit_base = 0.0;
        sl->satisfaction = 0.0;
        sl->elapsed = 0.0;
    }
}

static void clear_histories(reco_world *w)
{
    if (w->o.carry_history)
        memset(w->user_count, 0, (size_t)w->o.n_users * sizeof(uint64_t));
}

int reco_world_create(reco_world **out, const reco_world_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_create: out is NULL");
    *out = NULL;
    reco_world_options o;
    int rc = resolve_options(&o, opts, "reco_world_create");
    if (rc < 0)
        return rc;
    reco_allocator a;
    rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    layout l;
    rc = sized_layout(&l, &o, "reco_world_create");
    if (rc < 0)
        return rc;
    unsigned char *block = reco__alloc(&a, l.total, 64);
    if (block == NULL)
        return RECO_ENOMEM;
    reco_world *w = (reco_world *)block;
    memset(w, 0, sizeof *w);
    w->alloc = a;
    w->o = o;
    w->o.allocator = NULL;
    w->bytes = l.total;
    w->n_items = o.n_items;
    w->K = o.n_topics;
    w->L = o.lookback;
    w->C = o.n_candidates;
    w->S = o.max_sessions;
    w->reward_w[RECO_SIGNAL_CLICK] = (float)o.reward_click;
    w->reward_w[RECO_SIGNAL_LONG_WATCH] = (float)o.reward_long_watch;
    w->reward_w[RECO_SIGNAL_LIKE] = (float)o.reward_like;
    w->reward_w[RECO_SIGNAL_HIDE] = (float)o.reward_hide;
    w->H = o.long_len;
    w->R = stored_per_user(&o);
    w->U = o.user_features ? 3 + o.n_topics : 0;
    w->hash_cap = hash_capacity(o.n_candidates + o.lookback);
    w->hash_shift = 32;
    for (uint32_t c = w->hash_cap; c > 1; c >>= 1)
        w->hash_shift--;
    w->n_popular = (uint32_t)floor(o.popular_candidate_share * (double)o.n_candidates + 0.5);
    if (w->n_popular > w->C)
        w->n_popular = w->C;
    w->topic = (uint32_t *)(block + l.topic);
    w->quality = (float *)(block + l.quality);
    w->clickbait = (float *)(block + l.clickbait);
    w->popularity = (float *)(block + l.popularity);
    w->alias_prob = (float *)(block + l.alias_prob);
    w->alias = (uint32_t *)(block + l.alias);
    w->by_topic = (uint32_t *)(block + l.by_topic);
    w->topic_start = (uint32_t *)(block + l.topic_start);
    w->topic_prior = (double *)(block + l.topic_prior);
    w->pop_z = (float *)(block + l.pop_z);
    w->slots = (world_slot *)(block + l.slots);
    w->user_count = (uint64_t *)(block + l.user_count);
    w->user_items = (int32_t *)(block + l.user_items);
    w->user_fb = (uint32_t *)(block + l.user_fb);
    for (uint32_t s = 0; s < w->S; s++) {
        world_slot *sl = &w->slots[s];
        sl->interest = (double *)(block + l.interest) + (size_t)s * w->K;
        sl->fatigue = (double *)(block + l.fatigue) + (size_t)s * w->K;
        sl->hist_items = (int32_t *)(block + l.hist_items) + (size_t)s * w->L;
        sl->hist_fb = (uint32_t *)(block + l.hist_fb) + (size_t)s * w->L;
        sl->long_items = (int32_t *)(block + l.long_items) + (size_t)s * w->H;
        sl->long_fb = (uint32_t *)(block + l.long_fb) + (size_t)s * w->H;
        sl->features = (float *)(block + l.features) + (size_t)s * w->U;
        sl->cand = (int32_t *)(block + l.cand) + (size_t)s * w->C;
        sl->hash = (uint32_t *)(block + l.hash) + (size_t)s * w->hash_cap;
    }
    slots_idle(w);
    clear_histories(w);
    rc = build_catalog(w);
    if (rc < 0) {
        reco__free(&a, block);
        return rc;
    }
    reco__handle_acquire();
    *out = w;
    return RECO_OK;
}

void reco_world_free(reco_world *world)
{
    if (world == NULL)
        return;
    reco_allocator a = world->alloc;
    reco__free(&a, world);
    reco__handle_release();
}

int reco_world_reset(reco_world *world)
{
    if (world == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_reset: world is NULL");
    /* the users' stored histories are their past, not session state: they stay (an
     * evaluator resets the world between policies, which must all start from them) */
    slots_idle(world);
    return RECO_OK;
}

int reco_world_clear_histories(reco_world *world)
{
    if (world == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_clear_histories: world is NULL");
    clear_histories(world);
    return RECO_OK;
}

int reco_world_copy_histories(reco_world *dst, const reco_world *src)
{
    static const char fn[] = "reco_world_copy_histories";
    if (dst == NULL || src == NULL)
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn, dst == NULL ? "dst" : "src");
    if (!dst->o.carry_history || !src->o.carry_history || dst->o.n_users != src->o.n_users ||
        dst->R != src->R)
        return reco__error_set(RECO_EINVAL, "%s: both worlds must carry histories, with the "
                               "same users (%u / %u) and stored length (%u / %u)", fn,
                               dst->o.n_users, src->o.n_users, dst->R, src->R);
    if (dst == src)
        return RECO_OK;
    const size_t NU = src->o.n_users, R = src->R;
    memcpy(dst->user_count, src->user_count, NU * sizeof(uint64_t));
    memcpy(dst->user_items, src->user_items, NU * R * sizeof(int32_t));
    memcpy(dst->user_fb, src->user_fb, NU * R * sizeof(uint32_t));
    return RECO_OK;
}

int reco_world_get_options(reco_world_options *out, const reco_world *world)
{
    if (out == NULL || world == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_get_options: %s is NULL",
                               out == NULL ? "out" : "world");
    const unsigned int version = out->version;
    int rc = reco__check_version(version, RECO_WORLD_OPTIONS_VERSION, "reco_world_options");
    if (rc < 0)
        return rc;
    /* an older struct is shorter: write its fields only */
    memcpy(out, &world->o, options_size(version));
    out->version = version;
    return RECO_OK;
}

/* ---- users ----------------------------------------------------------------------------- */

/* The segment, base exit logit and starting satisfaction of `user` and, when `interest` is
 * not NULL, its interests; all from the user's own stream, in this order. */
static uint32_t draw_user(const reco_world *w, uint32_t user, double *exit_base,
                          double *satisfaction, double *interest)
{
    const reco_world_options *o = &w->o;
    reco_rng r;
    seed_rng(&r, w, TAG_USER, user, 0);
    const double u = reco_rng_uniform(&r);
    uint32_t seg = RECO_WORLD_SEGMENT_REGULAR;
    if (u < o->light_share)
        seg = RECO_WORLD_SEGMENT_LIGHT;
    else if (u >= 1.0 - o->heavy_share)
        seg = RECO_WORLD_SEGMENT_HEAVY;
    const double s0 = o->satisfaction_mean + o->satisfaction_sd * reco_rng_normal(&r);
    if (exit_base != NULL)
        *exit_base = seg == RECO_WORLD_SEGMENT_LIGHT   ? o->exit_light
                     : seg == RECO_WORLD_SEGMENT_HEAVY ? o->exit_heavy
                                                       : o->exit_regular;
    if (satisfaction != NULL)
        *satisfaction = s0;
    if (interest != NULL) {
        /* Dirichlet(A * prior_k) as normalised Gamma draws, in logs. */
        double mx = -INFINITY;
        for (uint32_t k = 0; k < w->K; k++) {
            interest[k] = log_gamma_draw(&r, o->interest_concentration * w->topic_prior[k]);
            if (interest[k] > mx)
                mx = interest[k];
        }
        double z = 0.0;
        for (uint32_t k = 0; k < w->K; k++) {
            interest[k] = reco__exp(interest[k] - mx);
            z += interest[k];
        }
        for (uint32_t k = 0; k < w->K; k++)
            interest[k] /= z;
    }
    return seg;
}

/* ---- the behaviour model ---------------------------------------------------------------- */

/* Everything the equations need about showing one item now. */
typedef struct show {
    double p_click, p_watch, p_like, p_hide; /* conditional: watch|click, like|watch,
                                                hide|no click */
    double q, c, phi;
    uint32_t topic;
} show;

static int in_window(const world_slot *sl, uint32_t L, int32_t item)
{
    for (uint32_t t = L - sl->hist_count; t < L; t++)
        if (sl->hist_items[t] == item)
            return 1;
    return 0;
}

static void show_item(show *sh, const reco_world *w, const world_slot *sl, int32_t item)
{
    const reco_world_options *o = &w->o;
    const uint32_t k = w->topic[item];
    const double u = sl->interest[k], q = w->quality[item], c = w->clickbait[item];
    const double phi = sl->fatigue[k];
    const double seen = in_window(sl, w->L, item) ? 1.0 : 0.0;
    sh->topic = k;
    sh->q = q;
    sh->c = c;
    sh->phi = phi;
    sh->p_click = sigmoid(o->click_bias + o->click_interest * u + o->click_clickbait * c -
                          o->click_fatigue * phi - o->click_repeat * seen);
    sh->p_watch = sigmoid(o->watch_bias + o->watch_quality * q + o->watch_interest * u -
                          o->watch_clickbait * c - o->watch_fatigue * phi);
    sh->p_like = sigmoid(o->like_bias + o->like_quality * q + o->like_interest * u -
                         o->like_clickbait * c);
    sh->p_hide = sigmoid(o->hide_bias - o->hide_interest * u + o->hide_clickbait * c +
                         o->hide_fatigue * phi);
}

static uint32_t bit(int signal)
{
    return 1u << signal;
}

/* Satisfaction after an outcome with feedback `bits`. */
static double next_satisfaction(const reco_world_options *o, double s, uint32_t bits,
                                const show *sh)
{
    double d = 0.0;
    if (bits & bit(RECO_SIGNAL_LONG_WATCH))
        d += o->satisfaction_watch_quality * sh->q - o->satisfaction_watch_clickbait * sh->c;
    else if (bits & bit(RECO_SIGNAL_CLICK))
        d -= o->satisfaction_bounce + o->satisfaction_bounce_clickbait * sh->c;
    if (bits & bit(RECO_SIGNAL_LIKE))
        d += o->satisfaction_like;
    if (bits & bit(RECO_SIGNAL_HIDE))
        d -= o->satisfaction_hide;
    if (bits == 0)
        d -= o->satisfaction_skip;
    return o->satisfaction_decay * s + d;
}

static double exit_prob(const reco_world_options *o, const world_slot *sl, double s_next,
                        const show *sh)
{
    return sigmoid(sl->exit_base - o->exit_satisfaction * s_next + o->exit_fatigue * sh->phi);
}

/* The five uniforms of a step, drawn in a fixed order whatever the outcome. */
static uint32_t outcome(int *exit_out, double *s_next, const reco_world *w,
                        const world_slot *sl, const show *sh, reco_rng *r)
{
    double u[5];
    for (int j = 0; j < 5; j++)
        u[j] = reco_rng_uniform(r);
    uint32_t bits = 0;
    if (u[0] < sh->p_click) {
        bits |= bit(RECO_SIGNAL_CLICK);
        if (u[1] < sh->p_watch) {
            bits |= bit(RECO_SIGNAL_LONG_WATCH);
            if (u[2] < sh->p_like)
                bits |= bit(RECO_SIGNAL_LIKE);
        }
    } else if (u[3] < sh->p_hide) {
        bits |= bit(RECO_SIGNAL_HIDE);
    }
    *s_next = next_satisfaction(&w->o, sl->satisfaction, bits, sh);
    *exit_out = u[4] < exit_prob(&w->o, sl, *s_next, sh);
    return bits;
}

/* The dwell time of a step with feedback `bits` (time never changes behaviour). */
static double seconds_of(const reco_world_options *o, uint32_t bits)
{
    double t = o->seconds_base;
    if (bits & bit(RECO_SIGNAL_CLICK))
        t += o->seconds_click;
    if (bits & bit(RECO_SIGNAL_LONG_WATCH))
        t += o->seconds_long_watch;
    if (bits & bit(RECO_SIGNAL_LIKE))
        t += o->seconds_like;
    return t;
}

static float reward_of(const reco_world_options *o, uint32_t bits)
{
    double r = 0.0;
    if (bits & bit(RECO_SIGNAL_CLICK))
        r += o->reward_click;
    if (bits & bit(RECO_SIGNAL_LONG_WATCH))
        r += o->reward_long_watch;
    if (bits & bit(RECO_SIGNAL_LIKE))
        r += o->reward_like;
    if (bits & bit(RECO_SIGNAL_HIDE))
        r += o->reward_hide;
    return (float)r;
}

/* Marginal probabilities of the four signals and the exit (summing the exit over the five
 * possible outcomes). */
static void marginals(double p[RECO_WORLD_N_PROBS], const reco_world *w, const world_slot *sl,
                      const show *sh)
{
    const double pc = sh->p_click, pw = sh->p_watch, pl = sh->p_like, ph = sh->p_hide;
    const uint32_t C = bit(RECO_SIGNAL_CLICK), W = bit(RECO_SIGNAL_LONG_WATCH),
                   Li = bit(RECO_SIGNAL_LIKE), H = bit(RECO_SIGNAL_HIDE);
    const struct {
        uint32_t bits;
        double p;
    } cases[5] = {
        { C | W | Li, pc * pw * pl },
        { C | W, pc * pw * (1.0 - pl) },
        { C, pc * (1.0 - pw) },
        { H, (1.0 - pc) * ph },
        { 0, (1.0 - pc) * (1.0 - ph) },
    };
    double pe = 0.0;
    for (int j = 0; j < 5; j++)
        pe += cases[j].p * exit_prob(&w->o, sl, next_satisfaction(&w->o, sl->satisfaction,
                                                                  cases[j].bits, sh), sh);
    p[RECO_SIGNAL_CLICK] = pc;
    p[RECO_SIGNAL_LONG_WATCH] = pc * pw;
    p[RECO_SIGNAL_LIKE] = pc * pw * pl;
    p[RECO_SIGNAL_HIDE] = (1.0 - pc) * ph;
    p[4] = pe;
}

/* ---- argument checks --------------------------------------------------------------------- */

/* Checks that every slot is in range and appears once (when `distinct`) and, per `need`,
 * that it has been started (SLOT_OVER allowed) or is running. Touches only the listed
 * slots. */
enum { NEED_ANY, NEED_STARTED, NEED_RUNNING };

static int check_slots(reco_world *w, const uint32_t *slots, uint32_t n, int distinct, int need,
                       const char *fn)
{
    int rc = RECO_OK;
    uint32_t i = 0;
    for (; i < n; i++) {
        const uint32_t s = slots[i];
        if (s >= w->S) {
            rc = reco__error_set(RECO_EINVAL, "%s: slots[%u] = %u is out of range (max_sessions "
                                 "%u)", fn, i, s, w->S);
            break;
        }
        world_slot *sl = &w->slots[s];
        if (distinct && sl->mark) {
            rc = reco__error_set(RECO_EINVAL, "%s: slot %u appears twice (slots[%u])", fn, s, i);
            break;
        }
        if (need == NEED_STARTED && sl->status == SLOT_IDLE) {
            rc = reco__error_set(RECO_ESTATE, "%s: slot %u has no session (call reset first)",
                                 fn, s);
            break;
        }
        if (need == NEED_RUNNING && sl->status != SLOT_RUNNING) {
            rc = reco__error_set(RECO_ESTATE, "%s: slot %u %s", fn, s,
                                 sl->status == SLOT_IDLE ? "has no session (call reset first)"
                                                         : "has finished its session (reset it)");
            break;
        }
        if (distinct)
            sl->mark = 1;
    }
    if (distinct)
        for (uint32_t j = 0; j < i; j++)
            w->slots[slots[j]].mark = 0;
    return rc;
}

static int check_items(const reco_world *w, const int32_t *items, uint32_t n, const char *fn)
{
    for (uint32_t i = 0; i < n; i++)
        if (items[i] < 0 || (uint32_t)items[i] >= w->n_items)
            return reco__error_set(RECO_EINVAL, "%s: items[%u] = %d is out of range [0, %u)",
                                   fn, i, (int)items[i], w->n_items);
    return RECO_OK;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static void push_window(world_slot *sl, uint32_t L, int32_t item, uint32_t bits)
{
    if (L > 1) {
        memmove(sl->hist_items, sl->hist_items + 1, (size_t)(L - 1) * sizeof(int32_t));
        memmove(sl->hist_fb, sl->hist_fb + 1, (size_t)(L - 1) * sizeof(uint32_t));
    }
    sl->hist_items[L - 1] = item;
    sl->hist_fb[L - 1] = bits;
    if (sl->hist_count < L)
        sl->hist_count++;
}

/* The last `len` interactions of `user`'s stored history into (len) arrays, right-aligned
 * after RECO_PAD pads, oldest first; returns how many are real (len <= R). */
static uint32_t copy_stored(const reco_world *w, uint32_t user, int32_t *items, uint32_t *fb,
                            uint32_t len)
{
    const uint64_t count = w->user_count[user];
    const uint32_t m = count < len ? (uint32_t)count : len;
    const size_t base = (size_t)user * w->R;
    for (uint32_t t = 0; t < len - m; t++) {
        items[t] = RECO_PAD;
        fb[t] = 0;
    }
    for (uint32_t t = 0; t < m; t++) {
        const size_t at = base + (size_t)((count - m + t) % w->R);
        items[len - m + t] = w->user_items[at];
        fb[len - m + t] = w->user_fb[at];
    }
    return m;
}

/* The user features of `user`: the segment one-hot, then each interest plus a normal noise
 * drawn from the user's own stream (the same in every session of the user). */
static void user_features(const reco_world *w, uint32_t user, uint32_t segment,
                          const double *interest, float *out)
{
    for (uint32_t g = 0; g < RECO_WORLD_N_SEGMENTS; g++)
        out[g] = g == segment ? 1.0f : 0.0f;
    reco_rng r;
    seed_rng(&r, w, TAG_USER_FEATURES, user, 0);
    for (uint32_t k = 0; k < w->K; k++)
        out[RECO_WORLD_N_SEGMENTS + k] =
            (float)(interest[k] + w->o.user_feature_noise * reco_rng_normal(&r));
}

static void synthetic_history(reco_world *w, world_slot *sl, uint64_t key);

static void start_one(reco_world *w, world_slot *sl, uint64_t key)
{
    sl->key = key;
    sl->user = (uint32_t)key;
    sl->steps = 0;
    sl->status = SLOT_RUNNING;
    sl->exited = 0;
    sl->elapsed = 0.0;
    sl->segment = draw_user(w, sl->user, &sl->exit_base, &sl->satisfaction, sl->interest);
    for (uint32_t k = 0; k < w->K; k++)
        sl->fatigue[k] = 0.0;
    if (w->o.carry_history) {
        /* the user's real past, as their logged sessions left it */
        sl->hist_count = copy_stored(w, sl->user, sl->hist_items, sl->hist_fb, w->L);
        if (w->H > 0)
            (void)copy_stored(w, sl->user, sl->long_items, sl->long_fb, w->H);
    } else {
        synthetic_history(w, sl, key);
        if (w->H > 0) {
            /* the interactions before the session are the synthetic ones */
            const uint32_t m = sl->hist_count < w->H ? sl->hist_count : w->H;
            for (uint32_t t = 0; t < w->H - m; t++) {
                sl->long_items[t] = RECO_PAD;
                sl->long_fb[t] = 0;
            }
            memcpy(sl->long_items + (w->H - m), sl->hist_items + (w->L - m),
                   (size_t)m * sizeof(int32_t));
            memcpy(sl->long_fb + (w->H - m), sl->hist_fb + (w->L - m),
                   (size_t)m * sizeof(uint32_t));
        }
    }
    if (w->U > 0)
        user_features(w, sl->user, sl->segment, sl->interest, sl->features);
}

static void synthetic_history(reco_world *w, world_slot *sl, uint64_t key)
{
    const reco_world_options *o = &w->o;
    for (uint32_t t = 0; t < w->L; t++) {
        sl->hist_items[t] = RECO_PAD;
        sl->hist_fb[t] = 0;
    }
    sl->hist_count = 0;
    /* The synthetic history: items from the user's interests (or uniform), with the
     * feedback of a fresh session (fatigue 0, starting satisfaction), oldest first. */
    reco_rng r;
    seed_rng(&r, w, TAG_HISTORY, key, 0);
    for (uint32_t j = 0; j < o->history_len; j++) {
        const double u = reco_rng_uniform(&r), v = reco_rng_uniform(&r);
        const uint64_t pick = reco_rng_u64(&r);
        int32_t item = (int32_t)(pick % w->n_items);
        if (u < o->history_interest_share) {
            uint32_t k = 0;
            double acc = 0.0;
            for (; k + 1 < w->K; k++) {
                acc += sl->interest[k];
                if (v < acc)
                    break;
            }
            const uint32_t cnt = w->topic_start[k + 1] - w->topic_start[k];
            if (cnt > 0)
                item = (int32_t)w->by_topic[w->topic_start[k] + (uint32_t)(pick % cnt)];
        }
        show sh;
        show_item(&sh, w, sl, item);
        int ex;
        double s_next;
        const uint32_t bits = outcome(&ex, &s_next, w, sl, &sh, &r);
        push_window(sl, w->L, item, bits);
    }
}

int reco_world_start(const uint32_t *slots, const uint64_t *users, uint32_t n, void *world)
{
    static const char fn[] = "reco_world_start";
    reco_world *w = world;
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && (slots == NULL || users == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn,
                               slots == NULL ? "slots" : "users");
    int rc = check_slots(w, slots, n, 1, NEED_ANY, fn);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        if ((uint32_t)users[i] >= w->o.n_users)
            return reco__error_set(RECO_EINVAL,
                                   "%s: users[%u] = 0x%llx: user %u is out of range (n_users %u)",
                                   fn, i, (unsigned long long)users[i], (uint32_t)users[i],
                                   w->o.n_users);
    for (uint32_t i = 0; i < n; i++)
        start_one(w, &w->slots[slots[i]], users[i]);
    return RECO_OK;
}

int reco_world_observe(int32_t *items_out, uint32_t *feedback_out, float *features_out,
                       const uint32_t *slots, uint32_t n, void *world)
{
    static const char fn[] = "reco_world_observe";
    reco_world *w = world;
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && (items_out == NULL || feedback_out == NULL || slots == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn,
                               items_out == NULL      ? "items_out"
                               : feedback_out == NULL ? "feedback_out"
                                                      : "slots");
    int rc = check_slots(w, slots, n, 0, NEED_STARTED, fn);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        const world_slot *sl = &w->slots[slots[i]];
        memcpy(items_out + (size_t)i * w->L, sl->hist_items, (size_t)w->L * sizeof(int32_t));
        memcpy(feedback_out + (size_t)i * w->L, sl->hist_fb, (size_t)w->L * sizeof(uint32_t));
        if (features_out != NULL && w->U > 0)
            memcpy(features_out + (size_t)i * w->U, sl->features, (size_t)w->U * sizeof(float));
    }
    return RECO_OK;
}

/* Inserts `item` in the slot's hash set; 0 if it was already there. */
static int hash_insert(const reco_world *w, world_slot *sl, uint32_t item)
{
    const uint32_t mask = w->hash_cap - 1;
    uint32_t h = (uint32_t)((item * 0x9e3779b1u) >> w->hash_shift) & mask;
    for (;;) {
        const uint32_t e = sl->hash[h];
        if (e == 0) {
            sl->hash[h] = item + 1;
            return 1;
        }
        if (e == item + 1)
            return 0;
        h = (h + 1) & mask;
    }
}

static void draw_candidates(const reco_world *w, world_slot *sl)
{
    reco_rng r;
    seed_rng(&r, w, TAG_CAND, sl->key, sl->steps);
    memset(sl->hash, 0, (size_t)w->hash_cap * sizeof(uint32_t));
    if (w->o.exclude_seen) /* the window's items count as drawn, so none is drawn again */
        for (uint32_t t = w->L - sl->hist_count; t < w->L; t++)
            (void)hash_insert(w, sl, (uint32_t)sl->hist_items[t]);
    const uint32_t n = w->n_items;
    for (uint32_t j = 0; j < w->C; j++) {
        int tries = j < w->n_popular ? POP_RETRIES : 0;
        for (;;) {
            uint32_t item;
            if (tries > 0) {
                tries--;
                item = (uint32_t)reco_rng_below(&r, n);
                if (!(reco_rng_uniformf(&r) < w->alias_prob[item]))
                    item = w->alias[item];
            } else {
                item = (uint32_t)reco_rng_below(&r, n);
            }
            if (hash_insert(w, sl, item)) {
                sl->cand[j] = (int32_t)item;
                break;
            }
        }
    }
    for (uint32_t j = w->C; j > 1; j--) { /* Fisher-Yates */
        const uint32_t k = (uint32_t)reco_rng_below(&r, j);
        const int32_t t = sl->cand[j - 1];
        sl->cand[j - 1] = sl->cand[k];
        sl->cand[k] = t;
    }
}

int reco_world_candidates(int32_t *items_out, uint32_t *count_out, uint32_t max_candidates,
                          const uint32_t *slots, uint32_t n, void *world)
{
    static const char fn[] = "reco_world_candidates";
    reco_world *w = world;
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && (items_out == NULL || count_out == NULL || slots == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn,
                               items_out == NULL   ? "items_out"
                               : count_out == NULL ? "count_out"
                                                   : "slots");
    if (max_candidates == 0)
        return reco__error_set(RECO_EINVAL, "%s: max_candidates is 0", fn);
    int rc = check_slots(w, slots, n, 0, NEED_RUNNING, fn);
    if (rc < 0)
        return rc;
    const uint32_t m = max_candidates < w->C ? max_candidates : w->C;
    for (uint32_t i = 0; i < n; i++) {
        world_slot *sl = &w->slots[slots[i]];
        draw_candidates(w, sl);
        memcpy(items_out + (size_t)i * max_candidates, sl->cand, (size_t)m * sizeof(int32_t));
        count_out[i] = m;
    }
    return RECO_OK;
}

int reco_world_step(uint32_t *feedback_out, float *reward_out, int *done_out,
                    const uint32_t *slots, const int32_t *items, uint32_t n, void *world)
{
    static const char fn[] = "reco_world_step";
    reco_world *w = world;
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && (feedback_out == NULL || reward_out == NULL || done_out == NULL ||
                  slots == NULL || items == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn,
                               feedback_out == NULL ? "feedback_out"
                               : reward_out == NULL ? "reward_out"
                               : done_out == NULL   ? "done_out"
                               : slots == NULL      ? "slots"
                                                    : "items");
    int rc = check_items(w, items, n, fn);
    if (rc < 0)
        return rc;
    rc = check_slots(w, slots, n, 1, NEED_RUNNING, fn);
    if (rc < 0)
        return rc;
    const reco_world_options *o = &w->o;
    for (uint32_t i = 0; i < n; i++) {
        world_slot *sl = &w->slots[slots[i]];
        show sh;
        show_item(&sh, w, sl, items[i]);
        reco_rng r;
        seed_rng(&r, w, TAG_STEP, sl->key, sl->steps);
        int ex;
        double s_next;
        const uint32_t bits = outcome(&ex, &s_next, w, sl, &sh, &r);
        sl->satisfaction = s_next;
        for (uint32_t k = 0; k < w->K; k++)
            sl->fatigue[k] *= o->fatigue_decay;
        sl->fatigue[sh.topic] += 1.0;
        push_window(sl, w->L, items[i], bits);
        sl->elapsed += seconds_of(o, bits);
        if (o->carry_history && !(sl->key & EVAL_KEY_BIT)) {
            /* a logged step becomes part of the user's real past */
            uint64_t *count = &w->user_count[sl->user];
            const size_t at = (size_t)sl->user * w->R + (size_t)(*count % w->R);
            w->user_items[at] = items[i];
            w->user_fb[at] = bits;
            (*count)++;
        }
        sl->steps++;
        sl->exited = ex;
        const int done = ex ? RECO_ENV_EXIT
                            : sl->steps >= o->max_session_len ? RECO_ENV_TRUNCATED
                                                               : RECO_ENV_CONTINUE;
        sl->status = done ? SLOT_OVER : SLOT_RUNNING;
        feedback_out[i] = bits;
        reward_out[i] = reward_of(o, bits);
        done_out[i] = done;
    }
    return RECO_OK;
}

int reco_world_env(reco_env *out, reco_world *world)
{
    if (out == NULL || world == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_env: %s is NULL",
                               out == NULL ? "out" : "world");
    memset(out, 0, sizeof *out);
    out->version = RECO_ENV_VERSION;
    out->n_items = world->n_items;
    out->n_signals = RECO_WORLD_N_SIGNALS;
    out->lookback = world->L;
    out->user_dim = world->U;
    out->max_sessions = world->S;
    out->reset = reco_world_start;
    out->observe = reco_world_observe;
    out->candidates = reco_world_candidates;
    out->step = reco_world_step;
    out->payload = world;
    out->long_len = world->H;
    out->context = reco_world_context;
    out->probabilities = reco_world_probabilities;
    static const char *const names[RECO_WORLD_N_SIGNALS] = {"click", "long_watch", "like",
                                                             "hide"};
    out->signal_names = names;
    out->reward_weights = world->reward_w;
    out->max_candidates = world->C;
    out->max_steps = world->o.max_session_len;
    return RECO_OK;
}

int reco_world_context(uint32_t *steps_out, float *elapsed_out, int32_t *long_items_out,
                       uint32_t *long_feedback_out, const uint32_t *slots, uint32_t n,
                       void *world)
{
    static const char fn[] = "reco_world_context";
    reco_world *w = world;
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && slots == NULL)
        return reco__error_set(RECO_EINVAL, "%s: slots is NULL", fn);
    int rc = check_slots(w, slots, n, 0, NEED_STARTED, fn);
    if (rc < 0)
        return rc;
    const size_t H = w->H;
    for (uint32_t i = 0; i < n; i++) {
        const world_slot *sl = &w->slots[slots[i]];
        if (steps_out != NULL)
            steps_out[i] = sl->steps;
        if (elapsed_out != NULL)
            elapsed_out[i] = (float)sl->elapsed;
        if (long_items_out != NULL && H > 0)
            memcpy(long_items_out + i * H, sl->long_items, H * sizeof(int32_t));
        if (long_feedback_out != NULL && H > 0)
            memcpy(long_feedback_out + i * H, sl->long_fb, H * sizeof(uint32_t));
    }
    return RECO_OK;
}

/* Row of reco_world_signal_probs(): the five marginals of showing `item` in `sl` now. */
static void probs_row(float *out, const reco_world *w, const world_slot *sl, int32_t item)
{
    show sh;
    show_item(&sh, w, sl, item);
    double p[RECO_WORLD_N_PROBS];
    marginals(p, w, sl, &sh);
    for (int f = 0; f < RECO_WORLD_N_PROBS; f++)
        out[f] = (float)p[f];
}

int reco_world_probabilities(float *probs_out, const uint32_t *slots, const int32_t *items,
                             uint32_t n, void *world)
{
    static const char fn[] = "reco_world_probabilities";
    reco_world *w = world;
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && (probs_out == NULL || slots == NULL || items == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn,
                               probs_out == NULL ? "probs_out"
                               : slots == NULL   ? "slots"
                                                 : "items");
    int rc = check_items(w, items, n, fn);
    if (rc < 0)
        return rc;
    rc = check_slots(w, slots, n, 0, NEED_RUNNING, fn);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < n; i++)
        probs_row(probs_out + (size_t)i * RECO_WORLD_N_PROBS, w, &w->slots[slots[i]], items[i]);
    return RECO_OK;
}

/* ---- accessors ---------------------------------------------------------------------------- */

static int check_running_slot(const reco_world *w, uint32_t slot, const char *fn)
{
    if (slot >= w->S)
        return reco__error_set(RECO_EINVAL, "%s: slot %u is out of range (max_sessions %u)", fn,
                               slot, w->S);
    if (w->slots[slot].status != SLOT_RUNNING)
        return reco__error_set(RECO_ESTATE, "%s: slot %u is not running a session", fn, slot);
    return RECO_OK;
}

static int probs_args(const float *out, const reco_world *w, uint32_t slot,
                      const int32_t *items, uint32_t n, const char *fn)
{
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && (out == NULL || items == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn,
                               out == NULL ? "out" : "items");
    int rc = check_running_slot(w, slot, fn);
    if (rc < 0)
        return rc;
    return check_items(w, items, n, fn);
}

int reco_world_signal_probs(float *out, const reco_world *world, uint32_t slot,
                            const int32_t *items, uint32_t n)
{
    int rc = probs_args(out, world, slot, items, n, "reco_world_signal_probs");
    if (rc < 0)
        return rc;
    const world_slot *sl = &world->slots[slot];
    for (uint32_t j = 0; j < n; j++)
        probs_row(out + (size_t)j * RECO_WORLD_N_PROBS, world, sl, items[j]);
    return RECO_OK;
}

int reco_world_expected_reward(float *out, const reco_world *world, uint32_t slot,
                               const int32_t *items, uint32_t n)
{
    int rc = probs_args(out, world, slot, items, n, "reco_world_expected_reward");
    if (rc < 0)
        return rc;
    const reco_world_options *o = &world->o;
    const world_slot *sl = &world->slots[slot];
    for (uint32_t j = 0; j < n; j++) {
        show sh;
        show_item(&sh, world, sl, items[j]);
        const double pc = sh.p_click, pw = pc * sh.p_watch, pl = pw * sh.p_like,
                     ph = (1.0 - pc) * sh.p_hide;
        out[j] = (float)(o->reward_click * pc + o->reward_long_watch * pw +
                         o->reward_like * pl + o->reward_hide * ph);
    }
    return RECO_OK;
}

int reco_world_item_info(uint32_t *topic_out, float *quality_out, float *clickbait_out,
                         float *popularity_out, const reco_world *world, const int32_t *items,
                         uint32_t n)
{
    static const char fn[] = "reco_world_item_info";
    if (world == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && items == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items is NULL", fn);
    int rc = check_items(world, items, n, fn);
    if (rc < 0)
        return rc;
    for (uint32_t j = 0; j < n; j++) {
        const int32_t i = items[j];
        if (topic_out != NULL)
            topic_out[j] = world->topic[i];
        if (quality_out != NULL)
            quality_out[j] = world->quality[i];
        if (clickbait_out != NULL)
            clickbait_out[j] = world->clickbait[i];
        if (popularity_out != NULL)
            popularity_out[j] = world->popularity[i];
    }
    return RECO_OK;
}

int reco_world_item_features(float *dense_out, int32_t *fields_out, const reco_world *world)
{
    if (world == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_item_features: world is NULL");
    const double s = world->o.item_feature_noise;
    for (uint32_t i = 0; i < world->n_items; i++) {
        if (dense_out != NULL) {
            float *d = dense_out + (size_t)i * RECO_WORLD_ITEM_DENSE;
            reco_rng r;
            seed_rng(&r, world, TAG_ITEM_FEATURES, i, 0);
            const double eq = reco_rng_normal(&r), ec = reco_rng_normal(&r);
            d[0] = (float)((double)world->quality[i] + s * eq);
            d[1] = (float)((double)world->clickbait[i] + s * ec);
            d[2] = world->pop_z[i];
        }
        if (fields_out != NULL)
            fields_out[(size_t)i * RECO_WORLD_ITEM_FIELDS] = (int32_t)world->topic[i];
    }
    return RECO_OK;
}

int reco_world_item_field_sizes(uint32_t *out, const reco_world *world)
{
    if (out == NULL || world == NULL)
        return reco__error_set(RECO_EINVAL, "reco_world_item_field_sizes: %s is NULL",
                               out == NULL ? "out" : "world");
    out[0] = world->K;
    return RECO_OK;
}

static int check_users(const reco_world *world, const void *out, const uint64_t *users,
                       uint32_t n, const char *fn)
{
    if (world == NULL)
        return reco__error_set(RECO_EINVAL, "%s: world is NULL", fn);
    if (n > 0 && (out == NULL || users == NULL))
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn, out == NULL ? "out" : "users");
    for (uint32_t j = 0; j < n; j++)
        if ((uint32_t)users[j] >= world->o.n_users)
            return reco__error_set(RECO_EINVAL, "%s: users[%u]: user %u is out of range "
                                   "(n_users %u)", fn, j, (uint32_t)users[j], world->o.n_users);
    return RECO_OK;
}

int reco_world_user_history_len(uint64_t *out, const reco_world *world, const uint64_t *users,
                                uint32_t n)
{
    int rc = check_users(world, out, users, n, "reco_world_user_history_len");
    if (rc < 0)
        return rc;
    for (uint32_t j = 0; j < n; j++)
        out[j] = world->o.carry_history ? world->user_count[(uint32_t)users[j]] : 0;
    return RECO_OK;
}

int reco_world_user_segment(uint32_t *out, const reco_world *world, const uint64_t *users,
                            uint32_t n)
{
    int rc = check_users(world, out, users, n, "reco_world_user_segment");
    if (rc < 0)
        return rc;
    for (uint32_t j = 0; j < n; j++)
        out[j] = draw_user(world, (uint32_t)users[j], NULL, NULL, NULL);
    return RECO_OK;
}

int reco_world_eval_users(uint64_t *out, const reco_world *world, uint64_t first, uint32_t n)
{
    if (world == NULL || (out == NULL && n > 0))
        return reco__error_set(RECO_EINVAL, "reco_world_eval_users: %s is NULL",
                               world == NULL ? "world" : "out");
    const uint64_t nu = world->o.n_users;
    for (uint32_t j = 0; j < n; j++) {
        const uint64_t i = first + j;
        const uint32_t ordinal = (uint32_t)(0x80000000u | ((i / nu) & 0x7fffffffu));
        out[j] = RECO_WORLD_SESSION_KEY(i % nu, ordinal);
    }
    return RECO_OK;
}

int reco_world_get_slot_info(reco_world_slot_info *out, const reco_world *world, uint32_t slot)
{
    static const char fn[] = "reco_world_get_slot_info";
    if (out == NULL || world == NULL)
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn, out == NULL ? "out" : "world");
    int rc = reco__check_version(out->version, RECO_WORLD_SLOT_INFO_VERSION,
                                 "reco_world_slot_info");
    if (rc < 0)
        return rc;
    if (slot >= world->S)
        return reco__error_set(RECO_EINVAL, "%s: slot %u is out of range (max_sessions %u)", fn,
                               slot, world->S);
    const world_slot *sl = &world->slots[slot];
    out->key = sl->key;
    out->steps = sl->steps;
    out->status = sl->status;
    out->exited = sl->exited;
    out->segment = sl->segment;
    out->satisfaction = sl->satisfaction;
    double mf = 0.0;
    if (sl->status != SLOT_IDLE)
        for (uint32_t k = 0; k < world->K; k++)
            if (sl->fatigue[k] > mf)
                mf = sl->fatigue[k];
    out->max_fatigue = mf;
    return RECO_OK;
}

/* ---- test hooks ---------------------------------------------------------------------------- */

void reco__world_sample(uint32_t *bits_out, int *exit_out, const reco_world *w, uint32_t slot,
                        int32_t item, reco_rng *rng)
{
    const world_slot *sl = &w->slots[slot];
    show sh;
    show_item(&sh, w, sl, item);
    double s_next;
    *bits_out = outcome(exit_out, &s_next, w, sl, &sh, rng);
}

double reco__world_fatigue(const reco_world *w, uint32_t slot, uint32_t topic)
{
    return w->slots[slot].fatigue[topic];
}

double reco__world_interest(const reco_world *w, uint32_t slot, uint32_t topic)
{
    return w->slots[slot].interest[topic];
}

void reco__world_set_satisfaction(reco_world *w, uint32_t slot, double s)
{
    w->slots[slot].satisfaction = s;
}
