/* reco_replay: proportional prioritized replay (Schaul et al. 2016) and uniform replay over
 * session windows stored once. Design, memory and file format: docs/replay.md.
 *
 * Storage. Interaction records (item i32, feedback u16) live in a ring of R records; every
 * added segment is contiguous in it: its h history records, then its n step records.
 * Transitions live in a ring of C slots (slot = index % C): the record index of the action,
 * the reward and an info word (state-window length, segment start, done). Indices [tail,
 * head) are stored. Eviction removes whole segments, oldest first, from both rings at once,
 * so a stored window never refers to a record that has been overwritten.
 *
 * Sum-tree. Leaves are float p^alpha (one per slot; 0 when empty); a level-1 node is the
 * double sum of 16 leaves, every higher node the double sum of 8 nodes below, and a parallel
 * float min-tree keeps the least positive leaf for the IS-weight normalisation. A node is
 * always recomputed from its children, never adjusted by a delta: the tree is a pure
 * function of the leaves, so rounding cannot drift over millions of updates and a reloaded
 * buffer rebuilds exactly the same tree. Sampling: see descend() and sweep(). */
/* madvise(MADV_HUGEPAGE) is a Linux extension that strict POSIX hides. */
#define _DEFAULT_SOURCE 1

#include <float.h>
#include <math.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "alloc_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "file_private.h"
#include "replay_private.h"

#define LEAF_FAN RECO__REPLAY_LEAF_FAN
#define NODE_FAN RECO__REPLAY_NODE_FAN
#define BACK_MASK RECO__REPLAY_BACK_MASK
#define SEG_START RECO__REPLAY_SEG_START
#define DONE_BIT RECO__REPLAY_DONE
#define POS(st, slot) reco__replay_pos(st, slot)
#define REWARD(st, slot) reco__replay_reward(st, slot)
#define INFO(st, slot) reco__replay_info(st, slot)
#define INFO_RESERVED ((uint16_t) ~(BACK_MASK | SEG_START | DONE_BIT))

#define MAX_CAPACITY ((uint64_t)1 << 31)
#define MAX_RECORDS ((uint64_t)UINT32_MAX)
#define MAX_LOOKBACK 512u
#define MAX_USER_DIM 65536u
#define MAX_LONG_LEN 4096u
#define MAX_STEPS 9007199254740992.0 /* 2^53: step counts stay exact in a double */
#define MAX_EPS 1e6
#define MAX_INITIAL_PRIORITY 1e30
#define FB_LIMIT 65536u

static const char replay_magic[8] = {'R', 'E', 'C', 'O', 'R', 'P', 'L', '1'};
#define REPLAY_FORMAT_VERSION 2u

/* The mutex protects the store; const functions lock it too (the handle is never a const
 * object: it is allocated by reco_replay_create()). */
static void lock(const reco_replay *r)
{
    pthread_mutex_lock((pthread_mutex_t *)&r->lock);
}

static void unlock(const reco_replay *r)
{
    pthread_mutex_unlock((pthread_mutex_t *)&r->lock);
}

/* ---- options and geometry ----------------------------------------------------------------- */

int reco_replay_options_init(reco_replay_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_REPLAY_OPTIONS_VERSION, "reco_replay_options");
    if (rc < 0)
        return rc;
    const reco_replay_options d = RECO_REPLAY_OPTIONS_INIT;
    if (version >= 2)
        *opts = d;
    else /* a version-1 struct ends before the session context */
        memcpy(opts, &d, offsetof(reco_replay_options, context));
    opts->version = version;
    return RECO_OK;
}

#define CHECK_RANGE(field, lo, hi)                                                                 \
    do {                                                                                           \
        if (!((double)(o->field) >= (lo) && (double)(o->field) <= (hi)))                           \
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "replay." #field,                   \
                                      "%g is out of range [%g, %g]", (double)(o->field),           \
                                      (double)(lo), (double)(hi));                                 \
    } while (0)

/* The caller's options as a current-version struct (fields past its version keep their
 * defaults), checked. */
static int validate_options(reco_replay_options *out, const reco_replay_options *in)
{
    int rc = reco__check_version(in->version, RECO_REPLAY_OPTIONS_VERSION, "reco_replay_options");
    if (rc < 0)
        return rc;
    const reco_replay_options d = RECO_REPLAY_OPTIONS_INIT;
    *out = d;
    if (in->version >= 2)
        *out = *in;
    else /* version 1 ends before the session context */
        memcpy(out, in, offsetof(reco_replay_options, context));
    out->version = RECO_REPLAY_OPTIONS_VERSION;
    const reco_replay_options *o = out;
    CHECK_RANGE(capacity, 1, (double)MAX_CAPACITY);
    if (o->record_capacity != 0)
        CHECK_RANGE(record_capacity, (double)o->capacity, (double)MAX_RECORDS);
    CHECK_RANGE(lookback, 1, MAX_LOOKBACK);
    if (o->kind != RECO_REPLAY_UNIFORM && o->kind != RECO_REPLAY_PROPORTIONAL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "replay.kind",
                                  "unknown kind %u (RECO_REPLAY_UNIFORM = 1, "
                                  "RECO_REPLAY_PROPORTIONAL = 2)", o->kind);
    CHECK_RANGE(alpha, 0.0, 1.0);
    CHECK_RANGE(beta0, 0.0, 1.0);
    CHECK_RANGE(beta_final, 0.0, 1.0);
    CHECK_RANGE(beta_steps, 0.0, MAX_STEPS);
    CHECK_RANGE(priority_eps, 0.0, MAX_EPS);
    CHECK_RANGE(initial_priority, 1e-30, MAX_INITIAL_PRIORITY);
    CHECK_RANGE(user_dim, 0, MAX_USER_DIM);
    CHECK_RANGE(long_len, 0, MAX_LONG_LEN);
    CHECK_RANGE(segment_capacity, 0, (double)o->capacity);
    return RECO_OK;
}

/* Carves a store's arrays out of `base` (or, with base NULL, only measures them); every
 * array starts on a 64-byte line. Returns the block size. */
static size_t carve_store(const reco_replay *g, reco__replay_store *st, unsigned char *base)
{
    size_t off = 0;
#define CARVE(ptr, count, type)                                                                    \
    do {                                                                                           \
        off = (off + 63) & ~(size_t)63;                                                            \
        if (base != NULL)                                                                          \
            (ptr) = (type *)(void *)(base + off);                                                  \
        off += (size_t)(count) * sizeof(type);                                                     \
    } while (0)
    CARVE(st->rec_item, g->R, int32_t);
    CARVE(st->rec_fb, g->R, uint16_t);
    CARVE(st->trans, g->C * RECO__REPLAY_TREC, unsigned char);
    if (g->ctx) {
        CARVE(st->t_ctx, g->C, reco__replay_tctx);
        CARVE(st->seg, g->Sg, reco__replay_seg);
        if (g->U > 0)
            CARVE(st->seg_user, g->Sg * g->U, float);
        if (g->H > 0) {
            CARVE(st->seg_long, g->Sg * g->H, int32_t);
            CARVE(st->seg_long_fb, g->Sg * g->H, uint16_t);
        }
    }    if (g->kind == RECO_REPLAY_PROPORTIONAL) {
        CARVE(st->leaf, g->Cp, float);
        for (int k = 1; k <= g->n_levels; k++) {
            CARVE(st->sum[k], g->level_alloc[k], double);
            CARVE(st->min[k], g->level_alloc[k], float);
        }
    }
#undef CARVE
    return off;
}

/* Fills the geometry fields of `g` (C, R, Cp, L, kind, levels, bytes) from valid options. */
static void geometry_init(reco_replay *g, const reco_replay_options *o)
{
    g->C = o->capacity;
    g->R = o->record_capacity != 0 ? o->record_capacity : 2 * o->capacity;
    if (g->R > MAX_RECORDS)
        g->R = MAX_RECORDS;
    g->L = o->lookback;
    g->kind = o->kind;
    g->ctx = o->context != 0 || o->user_dim > 0 || o->long_len > 0;
    g->U = g->ctx ? o->user_dim : 0;
    g->H = g->ctx ? o->long_len : 0;
    g->Sg = !g->ctx ? 0 : o->segment_capacity != 0 ? o->segment_capacity : (g->C + 7) / 8;
    g->Cp = (g->C + LEAF_FAN - 1) / LEAF_FAN * LEAF_FAN;
    g->n_levels = 0;
    g->level_nodes[0] = g->Cp;
    g->level_alloc[0] = g->Cp;
    if (g->kind == RECO_REPLAY_PROPORTIONAL) {
        uint64_t n = g->Cp / LEAF_FAN;
        for (int k = 1;; k++) {
            g->n_levels = k;
            g->level_nodes[k] = n;
            g->level_alloc[k] = (n + NODE_FAN - 1) / NODE_FAN * NODE_FAN;
            if (n == 1)
                break;
            n = (n + NODE_FAN - 1) / NODE_FAN;
        }
    }
    reco__replay_store tmp;
    memset(&tmp, 0, sizeof tmp);
    g->bytes = carve_store(g, &tmp, NULL);
}

int reco_replay_memory_size(size_t *out, const reco_replay_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_memory_size: out is NULL");
    const reco_replay_options d = RECO_REPLAY_OPTIONS_INIT;
    reco_replay_options o;
    int rc = validate_options(&o, opts != NULL ? opts : &d);
    if (rc < 0)
        return rc;
    reco_replay geo;
    memset(&geo, 0, sizeof geo);
    geometry_init(&geo, &o);
    *out = geo.bytes + sizeof(reco_replay);
    return RECO_OK;
}

/* ---- sum-tree ------------------------------------------------------------------------------ */

/* Recomputes node i of level k (k >= 1) from its children. The sum is accumulated left to
 * right in double: descend() repeats exactly these additions. */
static inline void node_update(const reco_replay *r, reco__replay_store *st, int k, uint64_t i)
{
    double s = 0.0;
    float m = INFINITY;
    if (k == 1) {
        const float *c = st->leaf + i * LEAF_FAN;
        for (unsigned j = 0; j < LEAF_FAN; j++) {
            s += (double)c[j];
            if (c[j] > 0.0f && c[j] < m)
                m = c[j];
        }
    } else {
        const double *c = st->sum[k - 1] + i * NODE_FAN;
        const float *cm = st->min[k - 1] + i * NODE_FAN;
        for (unsigned j = 0; j < NODE_FAN; j++) {
            s += c[j];
            m = cm[j] < m ? cm[j] : m;
        }
    }
    (void)r;
    st->sum[k][i] = s;
    st->min[k][i] = m;
}

/* node_update() of four nodes of level k at once, the same additions in the same order per
 * node (so the same bits): four independent chains of additions interleave, where one
 * node's chain of 8 or 16 dependent additions would leave the core waiting. */
#define UPDATE_LANE_INIT(l) double s##l = 0.0; float m##l = INFINITY
#define UPDATE_LANE_LEAF(l)                                                                        \
    do {                                                                                           \
        const float v_ = c##l[j];                                                                  \
        s##l += (double)v_;                                                                        \
        const float pos_ = v_ > 0.0f ? v_ : INFINITY;                                              \
        m##l = pos_ < m##l ? pos_ : m##l;                                                          \
    } while (0)
#define UPDATE_LANE_NODE(l)                                                                        \
    do {                                                                                           \
        s##l += c##l[j];                                                                           \
        m##l = cm##l[j] < m##l ? cm##l[j] : m##l;                                                  \
    } while (0)

static void node_update4(reco__replay_store *st, int k, const uint64_t *i)
{
    UPDATE_LANE_INIT(0);
    UPDATE_LANE_INIT(1);
    UPDATE_LANE_INIT(2);
    UPDATE_LANE_INIT(3);
    if (k == 1) {
        const float *c0 = st->leaf + i[0] * LEAF_FAN, *c1 = st->leaf + i[1] * LEAF_FAN;
        const float *c2 = st->leaf + i[2] * LEAF_FAN, *c3 = st->leaf + i[3] * LEAF_FAN;
        for (unsigned j = 0; j < LEAF_FAN; j++) {
            UPDATE_LANE_LEAF(0);
            UPDATE_LANE_LEAF(1);
            UPDATE_LANE_LEAF(2);
            UPDATE_LANE_LEAF(3);
        }
    } else {
        const double *c = st->sum[k - 1];
        const float *cm = st->min[k - 1];
        const double *c0 = c + i[0] * NODE_FAN, *c1 = c + i[1] * NODE_FAN;
        const double *c2 = c + i[2] * NODE_FAN, *c3 = c + i[3] * NODE_FAN;
        const float *cm0 = cm + i[0] * NODE_FAN, *cm1 = cm + i[1] * NODE_FAN;
        const float *cm2 = cm + i[2] * NODE_FAN, *cm3 = cm + i[3] * NODE_FAN;
        for (unsigned j = 0; j < NODE_FAN; j++) {
            UPDATE_LANE_NODE(0);
            UPDATE_LANE_NODE(1);
            UPDATE_LANE_NODE(2);
            UPDATE_LANE_NODE(3);
        }
    }
    st->sum[k][i[0]] = s0;
    st->sum[k][i[1]] = s1;
    st->sum[k][i[2]] = s2;
    st->sum[k][i[3]] = s3;
    st->min[k][i[0]] = m0;
    st->min[k][i[1]] = m1;
    st->min[k][i[2]] = m2;
    st->min[k][i[3]] = m3;
}

/* Recomputes the nodes of level k listed in `nodes` (n of them, duplicates allowed). */
static void nodes_update(const reco_replay *r, reco__replay_store *st, int k,
                         const uint64_t *nodes, size_t n)
{
    size_t j = 0;
    for (; j + 4 <= n; j += 4)
        node_update4(st, k, nodes + j);
    for (; j < n; j++)
        node_update(r, st, k, nodes[j]);
}

/* Recomputes every node above the leaf slots [lo, hi), lo < hi <= Cp. */
static void tree_touch(const reco_replay *r, reco__replay_store *st, uint64_t lo, uint64_t hi)
{
    uint64_t a = lo / LEAF_FAN, b = (hi - 1) / LEAF_FAN;
    for (int k = 1; k <= r->n_levels; k++) {
        for (uint64_t i = a; i <= b; i++)
            node_update(r, st, k, i);
        a /= NODE_FAN;
        b /= NODE_FAN;
    }
}

/* As tree_touch() for the slots of indices [first, first + n), n <= C (wrapping). */
static void tree_touch_indices(const reco_replay *r, reco__replay_store *st, uint64_t first,
                               uint64_t n)
{
    if (n == 0 || st->leaf == NULL)
        return;
    const uint64_t s = first % r->C;
    if (s + n <= r->C) {
        tree_touch(r, st, s, s + n);
    } else {
        tree_touch(r, st, s, r->C);
        tree_touch(r, st, 0, s + n - r->C);
    }
}

static void tree_rebuild(const reco_replay *r, reco__replay_store *st)
{
    for (int k = 1; k <= r->n_levels; k++)
        for (uint64_t i = 0; i < r->level_nodes[k]; i++)
            node_update(r, st, k, i);
}

/* Empties the tree: leaves and sums 0, minima +inf (padding included). */
static void tree_clear(const reco_replay *r, reco__replay_store *st)
{
    if (st->leaf == NULL)
        return;
    memset(st->leaf, 0, r->Cp * sizeof(float));
    for (int k = 1; k <= r->n_levels; k++) {
        memset(st->sum[k], 0, r->level_alloc[k] * sizeof(double));
        for (uint64_t i = 0; i < r->level_alloc[k]; i++)
            st->min[k][i] = INFINITY;
    }
}

double reco__replay_total(const reco_replay *r)
{
    if (r->kind != RECO_REPLAY_PROPORTIONAL)
        return 0.0;
    return r->st.sum[r->n_levels][0];
}

static float tree_min(const reco_replay *r, const reco__replay_store *st)
{
    return st->min[r->n_levels][0];
}

/* One level of LANES descents: for each lane, the child of node `slot[l]` (whose children
 * start at `base + slot[l] * FAN`) in which u[l] lies, as the number of prefixes that u[l]
 * reaches (the additions of node_update(), in the same order); u[l] becomes the offset
 * inside that child. The first prefix above u ends a child of positive mass, since a zero
 * child leaves the prefix unchanged. Rounding in the subtraction can leave u at or above
 * a node's sum; the lane then takes the node's last positive child, which is where u lies
 * to within that rounding. Lanes are independent chains of additions; interleaving them
 * is what lets the core overlap them (a single chain of 16 dependent additions per node
 * made sampling latency-bound, measured 2x slower). */
#define DESCEND_LANE_INIT(l, T, FAN)                                                               \
    const T *c##l = base + slot[l] * FAN;                                                          \
    const double u##l = u[l];                                                                      \
    double p##l = 0.0, pre##l[FAN + 1];                                                            \
    unsigned k##l = 0;                                                                             \
    pre##l[0] = 0.0
#define DESCEND_LANE_STEP(l)                                                                       \
    do {                                                                                           \
        p##l += (double)c##l[j];                                                                   \
        pre##l[j + 1] = p##l;                                                                      \
        k##l += u##l >= p##l;                                                                      \
    } while (0)
#define DESCEND_LANE_END(l, FAN)                                                                   \
    do {                                                                                           \
        unsigned k_ = k##l;                                                                        \
        if (k_ == FAN) {                                                                           \
            k_ = FAN - 1;                                                                          \
            while (k_ > 0 && !(c##l[k_] > 0))                                                      \
                k_--;                                                                              \
            u[l] = nextafter((double)c##l[k_], 0.0);                                               \
        } else {                                                                                   \
            u[l] = u##l - pre##l[k_];                                                              \
        }                                                                                          \
        slot[l] = slot[l] * FAN + k_;                                                              \
    } while (0)
#define DESCEND_LEVEL(name, T, FAN)                                                                \
    static inline void name(uint64_t *slot, double *u, const T *base)                              \
    {                                                                                              \
        DESCEND_LANE_INIT(0, T, FAN);                                                              \
        DESCEND_LANE_INIT(1, T, FAN);                                                              \
        DESCEND_LANE_INIT(2, T, FAN);                                                              \
        DESCEND_LANE_INIT(3, T, FAN);                                                              \
        for (unsigned j = 0; j < FAN; j++) {                                                       \
            DESCEND_LANE_STEP(0);                                                                  \
            DESCEND_LANE_STEP(1);                                                                  \
            DESCEND_LANE_STEP(2);                                                                  \
            DESCEND_LANE_STEP(3);                                                                  \
        }                                                                                          \
        DESCEND_LANE_END(0, FAN);                                                                  \
        DESCEND_LANE_END(1, FAN);                                                                  \
        DESCEND_LANE_END(2, FAN);                                                                  \
        DESCEND_LANE_END(3, FAN);                                                                  \
    }

enum { LANES = 4 };
DESCEND_LEVEL(descend_nodes, double, NODE_FAN)
DESCEND_LEVEL(descend_leaves, float, LEAF_FAN)

/* Loads whose only purpose is to bring a descent level's lines into the cache just before
 * they are scanned: a tight loop of independent loads keeps all of a chunk's misses in
 * flight at once. There, on the machine this was tuned on (virtualised AMD EPYC),
 * __builtin_prefetch gained nothing while these loads gained 25-30% (a prefetch helps where
 * the line is used a whole pipeline stage later, as for the records). Their values are
 * folded into a sink stored to a volatile, so that the compiler keeps them. */
typedef uint32_t touch_sink;

static inline touch_sink touch_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return (touch_sink)b;
}

/* From nodes `slot[k]` of level `from` (>= 1) down to the leaves: the slots whose mass
 * intervals contain u[k] (offsets inside those nodes), for m draws, m a multiple of LANES.
 * Level by level for all draws: each level's lines are touched for all draws first, then
 * scanned. u[] is consumed. */
static touch_sink descend(uint64_t *slot, const reco__replay_store *st, int from, double *u,
                          size_t m)
{
    touch_sink touch = 0;
    for (int lvl = from; lvl >= 2; lvl--) {
        const double *sums = st->sum[lvl - 1];
        for (size_t k = 0; k < m; k++)
            touch += touch_bits(sums[slot[k] * NODE_FAN]);
        for (size_t k = 0; k < m; k += LANES)
            descend_nodes(slot + k, u + k, sums);
    }
    for (size_t k = 0; k < m; k++)
        touch += touch_bits((double)st->leaf[slot[k] * LEAF_FAN]);
    for (size_t k = 0; k < m; k += LANES)
        descend_leaves(slot + k, u + k, st->leaf);
    return touch;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* The state of a freshly created buffer whose next index is `next_index`. */
static void store_fresh(const reco_replay *r, reco__replay_store *st, uint64_t next_index)
{
    const reco_replay_options *o = &r->opts;
    st->head = st->tail = next_index;
    st->rec_head = 0;
    st->rec_count = 0;
    st->seg_head = 0;
    st->seg_count = 0;
    st->max_priority = o->initial_priority;
    st->alpha = o->alpha;
    st->beta0 = o->beta0;
    st->beta_final = o->beta_final;
    st->eps = o->priority_eps;
    st->beta_steps = o->beta_steps;
    st->sample_step = 0;
    reco_rng_seed(&st->rng, o->seed, 0);
    tree_clear(r, st);
}

/* Sampling reads a few bytes at random places of a block of tens of megabytes: with 4 KiB
 * pages nearly every row misses the TLB, and a page walk under virtualisation costs several
 * memory accesses (measured: 2-3x slower sampling). Large blocks are therefore aligned to
 * 2 MiB and advised for transparent huge pages; the advice is only a hint, ignored where it
 * does not apply (other systems, THP disabled, memory that is not anonymous). */
#define HUGE_PAGE ((size_t)2 << 20)

static void advise_huge_pages(void *block, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= 2 * HUGE_PAGE && ((uintptr_t)block & (HUGE_PAGE - 1)) == 0)
        (void)madvise(block, bytes & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
#else
    (void)block;
    (void)bytes;
#endif
}

/* Allocates a store's block and carves it; the state is left for the caller to set. */
static int store_alloc(const reco_replay *r, reco__replay_store *st)
{
    memset(st, 0, sizeof *st);
    const size_t align = r->bytes >= 2 * HUGE_PAGE ? HUGE_PAGE : 64;
    unsigned char *block = reco__alloc(&r->alloc, r->bytes, align);
    if (block == NULL)
        return RECO_ENOMEM;
    advise_huge_pages(block, r->bytes);
    st->block = block;
    carve_store(r, st, block);
    return RECO_OK;
}

int reco_replay_create(reco_replay **out, const reco_replay_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_create: out is NULL");
    *out = NULL;
    const reco_replay_options d = RECO_REPLAY_OPTIONS_INIT;
    reco_replay_options o;
    int rc = validate_options(&o, opts != NULL ? opts : &d);
    if (rc < 0)
        return rc;
    reco_allocator a;
    rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    reco_replay *r = reco__alloc(&a, sizeof *r, 64);
    if (r == NULL)
        return RECO_ENOMEM;
    memset(r, 0, sizeof *r);
    r->alloc = a;
    r->opts = o;
    r->opts.allocator = NULL;
    geometry_init(r, &o);
    if ((rc = store_alloc(r, &r->st)) < 0) {
        reco__free(&a, r);
        return rc;
    }
    if ((rc = pthread_mutex_init(&r->lock, NULL)) != 0) {
        reco__free(&a, r->st.block);
        reco__free(&a, r);
        return reco__error_set(RECO_ERROR, "reco_replay_create: pthread_mutex_init failed (%d)",
                               rc);
    }
    store_fresh(r, &r->st, 0);
    reco__handle_acquire();
    *out = r;
    return RECO_OK;
}

void reco_replay_free(reco_replay *r)
{
    if (r == NULL)
        return;
    const reco_allocator a = r->alloc;
    pthread_mutex_destroy(&r->lock);
    reco__free(&a, r->st.block);
    reco__free(&a, r);
    reco__handle_release();
}

int reco_replay_reset(reco_replay *r)
{
    if (r == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_reset: replay is NULL");
    lock(r);
    store_fresh(r, &r->st, r->st.head);
    unlock(r);
    return RECO_OK;
}

/* ---- adding --------------------------------------------------------------------------------- */

/* p^alpha as stored in a leaf (a float), or -1 when it does not fit one. alpha 1, 0.5 and
 * 0 are exact; otherwise powf of p rounded to float: within 2 ulp of the float nearest to
 * the exact value, and half the cost of pow() (a learner step computes 256 of them). */
static double leaf_value(double p_eps, double alpha)
{
    double v;
    if (alpha == 1.0)
        v = p_eps;
    else if (alpha == 0.5)
        v = sqrt(p_eps);
    else if (alpha == 0.0)
        v = 1.0;
    else if (!(p_eps <= (double)FLT_MAX))
        v = reco__pow(p_eps, alpha);
    else
        v = (double)reco__powf((float)p_eps, (float)alpha);
    return v <= (double)FLT_MAX ? v : -1.0;
}

/* Removes the oldest segment: its transitions, their leaves and its records. */
static void evict_oldest(const reco_replay *r, reco__replay_store *st)
{
    const uint64_t C = r->C, R = r->R;
    uint64_t t = st->tail + 1;
    uint64_t slot = t % C;
    while (t < st->head && !(INFO(st, slot) & SEG_START)) {
        t++;
        if (++slot == C)
            slot = 0;
    }
    if (st->leaf != NULL) {
        const uint64_t n = t - st->tail, s = st->tail % C;
        if (s + n <= C) {
            memset(st->leaf + s, 0, n * sizeof(float));
        } else {
            memset(st->leaf + s, 0, (C - s) * sizeof(float));
            memset(st->leaf, 0, (s + n - C) * sizeof(float));
        }
        tree_touch_indices(r, st, st->tail, n);
    }
    if (t < st->head) {
        const uint64_t back = INFO(st, slot) & BACK_MASK;
        const uint64_t new_rec_tail = (POS(st, slot) + R - back) % R;
        const uint64_t old_rec_tail = (st->rec_head + R - st->rec_count) % R;
        st->rec_count -= (new_rec_tail + R - old_rec_tail) % R;
    } else {
        st->rec_count = 0;
    }
    if (r->ctx)
        st->seg_count--;
    st->tail = t;
}

static int bad_item(const char *what, uint32_t k, int32_t v)
{
    return reco__error_set(RECO_EINVAL, "reco_replay_add_segment: %s[%u] is %d, expected an "
                           "item id >= 0%s", what, k, (int)v,
                           what[0] == 'h' ? " or RECO_PAD" : "");
}

static int check_segment(const reco_replay *r, const reco_replay_segment *s, uint32_t *lead_out)
{
    const char *fn = "reco_replay_add_segment";
    const uint32_t h = s->history_len, n = s->n_steps;
    if (n == 0)
        return reco__error_set(RECO_EINVAL, "%s: n_steps is 0 (a segment has at least one "
                               "step)", fn);
    if (h > r->L)
        return reco__error_set(RECO_EINVAL, "%s: history_len %u exceeds the lookback %u", fn,
                               h, r->L);
    if (h > 0 && (s->history_items == NULL || s->history_feedback == NULL))
        return reco__error_set(RECO_EINVAL, "%s: history_len is %u but history_items or "
                               "history_feedback is NULL", fn, h);
    if (s->items == NULL || s->feedback == NULL || s->rewards == NULL)
        return reco__error_set(RECO_EINVAL, "%s: items, feedback and rewards must not be NULL",
                               fn);
    uint32_t lead = 0;
    while (lead < h && s->history_items[lead] == RECO_PAD)
        lead++;
    for (uint32_t k = 0; k < h; k++) {
        if (s->history_items[k] < RECO_PAD)
            return bad_item("history_items", k, s->history_items[k]);
        if (s->history_feedback[k] >= FB_LIMIT)
            return reco__error_set(RECO_EINVAL, "%s: history_feedback[%u] is 0x%x, but only "
                                   "bits 0..15 can be stored", fn, k, s->history_feedback[k]);
    }
    for (uint32_t k = 0; k < n; k++) {
        if (s->items[k] < 0)
            return bad_item("items", k, s->items[k]);
        if (s->feedback[k] >= FB_LIMIT)
            return reco__error_set(RECO_EINVAL, "%s: feedback[%u] is 0x%x, but only bits "
                                   "0..15 can be stored", fn, k, s->feedback[k]);
        if (!isfinite(s->rewards[k]))
            return reco__error_set(RECO_EINVAL, "%s: rewards[%u] is %g", fn, k,
                                   (double)s->rewards[k]);
        if (s->priorities != NULL && !(s->priorities[k] >= 0.0f && isfinite(s->priorities[k])))
            return reco__error_set(RECO_EINVAL, "%s: priorities[%u] is %g, expected a finite "
                                   "value >= 0", fn, k, (double)s->priorities[k]);
    }
    if (n > r->C)
        return reco__error_set(RECO_EINVAL, "%s: %u steps exceed the capacity of %llu "
                               "transitions", fn, n, (unsigned long long)r->C);
    if ((uint64_t)(h - lead) + n > r->R)
        return reco__error_set(RECO_EINVAL, "%s: %u history + %u step records exceed the "
                               "record capacity %llu", fn, h - lead, n,
                               (unsigned long long)r->R);
    *lead_out = lead;
    return RECO_OK;
}

/* The session context of a version-2 segment `s` (the caller's version is `version`), for a
 * buffer that stores one. */
static int check_context(const reco_replay *r, const reco_replay_segment *s,
                         unsigned int version)
{
    const char *fn = "reco_replay_add_segment";
    if (!r->ctx || version < 2)
        return RECO_OK;
    const uint32_t n = s->n_steps;
    if (s->user_dim != r->U)
        return reco__error_set(RECO_EINVAL, "%s: the segment has user_dim %u, the buffer "
                               "stores %u user features", fn, s->user_dim, r->U);
    if (s->long_len != r->H)
        return reco__error_set(RECO_EINVAL, "%s: the segment has long_len %u, the buffer "
                               "stores a long-term history of %u", fn, s->long_len, r->H);
    if ((r->U > 0 && s->user_features == NULL) ||
        (r->H > 0 && (s->long_items == NULL || s->long_feedback == NULL)))
        return reco__error_set(RECO_EINVAL, "%s: user_features, long_items or long_feedback "
                               "is NULL with a positive length", fn);
    if ((uint64_t)s->first_step + n > UINT32_MAX)
        return reco__error_set(RECO_EINVAL, "%s: first_step %u + %u steps does not fit in 32 "
                               "bits", fn, s->first_step, n);
    if (s->elapsed != NULL)
        for (uint32_t k = 0; k <= n; k++)
            if (!(s->elapsed[k] >= 0.0f) || !isfinite(s->elapsed[k]))
                return reco__error_set(RECO_EINVAL, "%s: elapsed[%u] is %g, expected a finite "
                                       "number of seconds >= 0", fn, k, (double)s->elapsed[k]);
    for (uint32_t k = 0; k < r->U; k++)
        if (!isfinite(s->user_features[k]))
            return reco__error_set(RECO_EINVAL, "%s: user_features[%u] is %g", fn, k,
                                   (double)s->user_features[k]);
    for (uint32_t k = 0; k < r->H; k++) {
        if (s->long_items[k] < RECO_PAD)
            return reco__error_set(RECO_EINVAL, "%s: long_items[%u] is %d, expected an item "
                                   "id >= 0 or RECO_PAD", fn, k, (int)s->long_items[k]);
        if (s->long_feedback[k] >= FB_LIMIT)
            return reco__error_set(RECO_EINVAL, "%s: long_feedback[%u] is 0x%x, but only bits "
                                   "0..15 can be stored", fn, k, s->long_feedback[k]);
    }
    return RECO_OK;
}

/* Stores the context of the segment whose first step is record `first_pos` and whose first
 * transition slot is `slot0` (caller holds the lock; the ring has room). */
static void store_context(const reco_replay *r, reco__replay_store *st,
                          const reco_replay_segment *s, uint64_t first_pos, uint64_t slot0)
{
    const uint32_t n = s->n_steps, U = r->U, H = r->H;
    const uint64_t k = st->seg_head;
    reco__replay_seg *e = &st->seg[k];
    e->first_step = s->first_step;
    e->n_steps = n;
    e->first_pos = (uint32_t)first_pos;
    e->end_elapsed = s->elapsed != NULL ? s->elapsed[n] : 0.0f;
    /* a version-1 segment (user_dim and long_len 0) gets zero features and pads */
    if (U > 0) {
        float *u = st->seg_user + k * U;
        for (uint32_t q = 0; q < U; q++)
            u[q] = s->user_dim == U ? s->user_features[q] : 0.0f;
    }
    if (H > 0) {
        int32_t *li = st->seg_long + k * H;
        uint16_t *lf = st->seg_long_fb + k * H;
        for (uint32_t q = 0; q < H; q++) {
            li[q] = s->long_len == H ? s->long_items[q] : RECO_PAD;
            lf[q] = li[q] == RECO_PAD ? 0 : (uint16_t)s->long_feedback[q];
        }
    }
    uint64_t slot = slot0;
    for (uint32_t j = 0; j < n; j++) {
        st->t_ctx[slot].seg = (uint32_t)k;
        st->t_ctx[slot].elapsed = s->elapsed != NULL ? s->elapsed[j] : 0.0f;
        if (++slot == r->C)
            slot = 0;
    }
    st->seg_head = k + 1 == r->Sg ? 0 : k + 1;
    st->seg_count++;
}

int reco_replay_add_segment(uint64_t *first_index_out, reco_replay *r,
                            const reco_replay_segment *segment)
{
    if (r == NULL || segment == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_add_segment: replay and segment must "
                               "not be NULL");
    int rc = reco__check_version(segment->version, RECO_REPLAY_SEGMENT_VERSION,
                                 "reco_replay_segment");
    if (rc < 0)
        return rc;
    const reco_replay_segment seg = reco__replay_segment_of(segment);
    const reco_replay_segment *s = &seg;
    uint32_t lead = 0;
    if ((rc = check_segment(r, s, &lead)) < 0 || (rc = check_context(r, s, segment->version)) < 0)
        return rc;
    const uint64_t C = r->C, R = r->R;
    const uint32_t h = s->history_len - lead, n = s->n_steps, L = r->L;
    const int32_t *hi = s->history_items + lead;
    const uint32_t *hf = s->history_feedback + lead;
    const int prioritized = r->kind == RECO_REPLAY_PROPORTIONAL;

    lock(r);
    reco__replay_store *st = &r->st;
    double given_max = 0.0;
    if (prioritized && s->priorities != NULL)
        for (uint32_t k = 0; k < n; k++) {
            const double pe = (double)s->priorities[k] + st->eps;
            given_max = pe > given_max ? pe : given_max;
        }
    /* check_segment() made sure that the segment fits an empty buffer */
    while ((st->head - st->tail + n > C || st->rec_count + h + n > R ||
            (r->ctx && st->seg_count + 1 > r->Sg)) &&
           st->head != st->tail)
        evict_oldest(r, st);

    uint64_t ri = st->rec_head;
    for (uint32_t k = 0; k < h; k++) {
        st->rec_item[ri] = hi[k];
        st->rec_fb[ri] = hi[k] == RECO_PAD ? 0 : (uint16_t)hf[k];
        if (++ri == R)
            ri = 0;
    }
    const float new_leaf = prioritized ? (float)leaf_value(st->max_priority, st->alpha) : 0.0f;
    uint64_t slot = st->head % C;
    if (r->ctx)
        store_context(r, st, s, ri, slot);
    for (uint32_t j = 0; j < n; j++) {
        st->rec_item[ri] = s->items[j];
        st->rec_fb[ri] = (uint16_t)s->feedback[j];
        const uint32_t back = h + j < L ? h + j : L;
        uint16_t info = (uint16_t)back;
        if (j == 0)
            info |= SEG_START;
        if (j + 1 == n && s->ends_session)
            info |= DONE_BIT;
        reco__replay_set(st, slot, (uint32_t)ri, s->rewards[j], info);
        if (prioritized)
            st->leaf[slot] = s->priorities == NULL
                                 ? new_leaf
                                 : (float)leaf_value((double)s->priorities[j] + st->eps,
                                                     st->alpha);
        if (++ri == R)
            ri = 0;
        if (++slot == C)
            slot = 0;
    }
    tree_touch_indices(r, st, st->head, n);
    if (given_max > st->max_priority)
        st->max_priority = given_max;
    st->rec_head = ri;
    st->rec_count += (uint64_t)h + n;
    if (first_index_out != NULL)
        *first_index_out = st->head;
    st->head += n;
    unlock(r);
    return RECO_OK;
}

/* ---- sampling ------------------------------------------------------------------------------- */

static double current_beta(const reco__replay_store *st)
{
    if (st->beta_steps == 0 || st->sample_step >= st->beta_steps)
        return st->beta_final;
    return st->beta0 +
           (st->beta_final - st->beta0) * ((double)st->sample_step / (double)st->beta_steps);
}

/* Windows are 20-odd elements: a call to memcpy costs more than the copy, and GCC turns
 * plain copy loops back into such calls unless told not to. */
#if defined(__GNUC__) && !defined(__clang__)
#define INLINE_COPIES __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define INLINE_COPIES
#endif

/* Writes the window of the `count` records that end just before ring index `end` (end may
 * be R), right-aligned in L slots after L - count pads. Either output may be NULL. */
INLINE_COPIES
static void fill_window(int32_t *items, uint32_t *fb, const reco_replay *r,
                        const reco__replay_store *st, uint64_t end, uint32_t count)
{
    const uint32_t L = r->L, pad = L - count;
    const uint64_t R = r->R;
    const uint64_t start = end >= count ? end - count : end + R - count;
    const uint32_t first = R - start >= count ? count : (uint32_t)(R - start);
    const int32_t *si = st->rec_item + start;
    const uint16_t *sf = st->rec_fb + start;
    if (items != NULL) {
        for (uint32_t k = 0; k < pad; k++)
            items[k] = RECO_PAD;
        int32_t *d = items + pad;
        for (uint32_t k = 0; k < first; k++)
            d[k] = si[k];
        for (uint32_t k = first; k < count; k++) /* wrapped past the end of the ring */
            d[k] = st->rec_item[k - first];
    }
    if (fb != NULL) {
        for (uint32_t k = 0; k < pad; k++)
            fb[k] = 0;
        uint32_t *d = fb + pad;
        for (uint32_t k = 0; k < first; k++)
            d[k] = sf[k];
        for (uint32_t k = first; k < count; k++)
            d[k] = st->rec_fb[k - first];
    }
}

/* (p_min / p)^beta, the normalised IS weight; in float like the output (powf: within 1 ulp),
 * exact for beta 0 and 1. */
static float is_weight(double ratio, double beta)
{
    if (beta == 0.0)
        return 1.0f;
    if (beta == 1.0)
        return (float)ratio;
    return reco__powf((float)ratio, (float)beta);
}

/* One sampled row, gathered from the transition ring before the copies. */
typedef struct row {
    uint64_t slot, pos;
    uint32_t back;
    uint16_t info;
    float reward;
    uint32_t seg;  /* the session context, when sampled: segment context slot */
    float elapsed; /* and the elapsed seconds at the state */
} row;

/* The next-state window is the state window shifted by one with the action appended: copied
 * from the state row just written (in L1) where there is one, else from the records. */
INLINE_COPIES
static void fill_row(const reco_replay_batch *out, const reco_replay *r,
                     const reco__replay_store *st, size_t b, const row *w, uint64_t index,
                     float weight, float prob)
{
    const size_t L = r->L;
    int32_t *si = out->state_items != NULL ? out->state_items + b * L : NULL;
    uint32_t *sf = out->state_feedback != NULL ? out->state_feedback + b * L : NULL;
    int32_t *ni = out->next_items != NULL ? out->next_items + b * L : NULL;
    uint32_t *nf = out->next_feedback != NULL ? out->next_feedback + b * L : NULL;
    if (out->indices != NULL)
        out->indices[b] = index;
    if (si != NULL || sf != NULL)
        fill_window(si, sf, r, st, w->pos, w->back);
    if (ni != NULL && si != NULL) {
        for (size_t q = 0; q + 1 < L; q++)
            ni[q] = si[q + 1];
        ni[L - 1] = st->rec_item[w->pos];
        ni = NULL;
    }
    if (nf != NULL && sf != NULL) {
        for (size_t q = 0; q + 1 < L; q++)
            nf[q] = sf[q + 1];
        nf[L - 1] = st->rec_fb[w->pos];
        nf = NULL;
    }
    if (ni != NULL || nf != NULL)
        fill_window(ni, nf, r, st, w->pos + 1, w->back < L ? w->back + 1 : (uint32_t)L);
    if (out->actions != NULL)
        out->actions[b] = st->rec_item[w->pos];
    if (out->rewards != NULL)
        out->rewards[b] = w->reward;
    if (out->done != NULL)
        out->done[b] = (w->info & DONE_BIT) ? 1 : 0;
    if (out->weights != NULL)
        out->weights[b] = weight;
    if (out->probabilities != NULL)
        out->probabilities[b] = prob;
}

/* The session context of row b (a version-2 batch that asks for it): transition j of its
 * segment has first_step + j steps, s' one more; s' has the next slot's elapsed time, or the
 * segment's end for its last step. A buffer without a context writes 0s. */
INLINE_COPIES __attribute__((noinline))
static void fill_context(const reco_replay_batch *out, const reco_replay *r,
                         const reco__replay_store *st, size_t b, const row *w)
{
    if (!r->ctx) {
        if (out->state_steps != NULL)
            out->state_steps[b] = 0;
        if (out->next_steps != NULL)
            out->next_steps[b] = 0;
        if (out->state_elapsed != NULL)
            out->state_elapsed[b] = 0.0f;
        if (out->next_elapsed != NULL)
            out->next_elapsed[b] = 0.0f;
        return;
    }
    const reco__replay_seg *e = &st->seg[w->seg];
    const uint64_t j = w->pos >= e->first_pos ? w->pos - e->first_pos
                                              : w->pos + r->R - e->first_pos;
    if (out->state_steps != NULL)
        out->state_steps[b] = e->first_step + (uint32_t)j;
    if (out->next_steps != NULL)
        out->next_steps[b] = e->first_step + (uint32_t)j + 1u;
    if (out->state_elapsed != NULL)
        out->state_elapsed[b] = w->elapsed;
    if (out->next_elapsed != NULL) {
        const uint64_t next = w->slot + 1 == r->C ? 0 : w->slot + 1;
        out->next_elapsed[b] = j + 1 == e->n_steps ? e->end_elapsed : st->t_ctx[next].elapsed;
    }
    const size_t U = r->U, H = r->H;
    if (out->user_features != NULL && U > 0) {
        const float *u = st->seg_user + (size_t)w->seg * U;
        float *d = out->user_features + b * U;
        for (size_t q = 0; q < U; q++)
            d[q] = u[q];
    }
    if (H > 0) {
        const int32_t *li = st->seg_long + (size_t)w->seg * H;
        const uint16_t *lf = st->seg_long_fb + (size_t)w->seg * H;
        if (out->long_items != NULL) {
            int32_t *d = out->long_items + b * H;
            for (size_t q = 0; q < H; q++)
                d[q] = li[q];
        }
        if (out->long_feedback != NULL) {
            uint32_t *d = out->long_feedback + b * H;
            for (size_t q = 0; q < H; q++)
                d[q] = lf[q];
        }
    }
}

/* Sampling is a software pipeline over chunks of rows, because at 1M transitions nearly
 * every row misses the cache several times (tree nodes, its transition entry, its records)
 * and the copies would otherwise wait on each miss in turn (measured: 3x slower). Chunk c
 * goes through three stages, run as A(c), B(c-1), C(c-2), so that the lines a stage needs
 * were requested one stage earlier:
 *   A  draw the slots (a sweep and tree descents, or uniform draws) and their weights;
 *      prefetch the transition entries (here a prefetch works: stage B comes much later);
 *   B  load the transition entries; prefetch the records of the windows;
 *   C  write the rows. */
enum { SAMPLE_CHUNK = 32 };

typedef struct sample_ctx {
    const reco_replay_batch *out;
    const reco_replay *r;
    reco__replay_store *st;
    uint32_t n;
    uint64_t size, tail_slot;
    double total, beta, pmin, seg;
    int prioritized, want_windows;
    int want_ctx;  /* a version-2 batch asks for context outputs */
    int read_ctx;  /* ... and the buffer stores them */
    /* stratified draws come sorted: their nodes on level `sweep_level` are found by one
     * left-to-right sweep (node sw_node, mass before it sw_before) instead of descents */
    int sweep_level;
    uint64_t sw_node;
    double sw_before;
    /* per chunk in flight */
    uint64_t slot[3][SAMPLE_CHUNK];
    float w[3][SAMPLE_CHUNK], prob[3][SAMPLE_CHUNK];
    row rows[2][SAMPLE_CHUNK];
    touch_sink touch;
} sample_ctx;

static size_t chunk_rows(const sample_ctx *x, uint32_t c)
{
    const uint32_t b0 = c * SAMPLE_CHUNK;
    return x->n - b0 < SAMPLE_CHUNK ? x->n - b0 : SAMPLE_CHUNK;
}

/* The level-K nodes (K = sweep_level) of m sorted targets u[k], and u[k] made relative to
 * them. The sweep adds node sums left to right (a rounding different from the tree's, by a
 * few ulps: a target that rounding puts at or past the end of its node ends up at the end of
 * the node's last positive child, in descend()). Targets past the last positive node (the
 * total, by rounding) are moved into it. */
static void sweep(sample_ctx *x, uint64_t *slot, double *u, size_t m)
{
    const double *s = x->st->sum[x->sweep_level];
    const uint64_t nodes = x->r->level_nodes[x->sweep_level];
    uint64_t i = x->sw_node;
    double before = x->sw_before;
    for (size_t k = 0; k < m; k++) {
        const double v = u[k];
        while (i + 1 < nodes && v >= before + s[i]) {
            before += s[i];
            i++;
        }
        if (v < before + s[i] && s[i] > 0.0) {
            slot[k] = i;
            u[k] = v - before;
        } else {
            uint64_t j = i;
            while (j > 0 && !(s[j] > 0.0))
                j--;
            slot[k] = j;
            u[k] = nextafter(s[j], 0.0);
        }
    }
    x->sw_node = i;
    x->sw_before = before;
}

static void stage_draw(sample_ctx *x, uint32_t c)
{
    const reco_replay *r = x->r;
    reco__replay_store *st = x->st;
    const size_t m = chunk_rows(x, c);
    const uint32_t b0 = c * SAMPLE_CHUNK;
    uint64_t *slot = x->slot[c % 3];
    float *w = x->w[c % 3], *prob = x->prob[c % 3];
    if (x->prioritized) {
        double u[SAMPLE_CHUNK];
        for (size_t k = 0; k < m; k++) {
            u[k] = ((double)(b0 + k) + reco_rng_uniform(&st->rng)) * x->seg;
            if (u[k] >= x->total)
                u[k] = nextafter(x->total, 0.0);
        }
        if (x->sweep_level < r->n_levels) {
            sweep(x, slot, u, m);
        } else {
            for (size_t k = 0; k < m; k++)
                slot[k] = 0;
        }
        const size_t mp = (m + LANES - 1) / LANES * LANES; /* pad with copies */
        for (size_t k = m; k < mp; k++) {
            u[k] = u[m - 1];
            slot[k] = slot[m - 1];
        }
        x->touch += descend(slot, st, x->sweep_level, u, mp);
        for (size_t k = 0; k < m; k++) {
            const double p = (double)st->leaf[slot[k]];
            w[k] = is_weight(x->pmin / p, x->beta);
            prob[k] = (float)(p / x->total);
        }
    } else {
        const float p = (float)(1.0 / (double)x->size);
        for (size_t k = 0; k < m; k++) {
            slot[k] = x->tail_slot + reco_rng_below(&st->rng, x->size);
            if (slot[k] >= r->C)
                slot[k] -= r->C;
            w[k] = 1.0f;
            prob[k] = p;
        }
    }
    for (size_t k = 0; k < m; k++) {
        const unsigned char *e = st->trans + slot[k] * RECO__REPLAY_TREC;
        __builtin_prefetch(e);
        __builtin_prefetch(e + RECO__REPLAY_TREC - 1); /* an entry may straddle two lines */
    }
    if (x->read_ctx)
        for (size_t k = 0; k < m; k++) {
            __builtin_prefetch(st->t_ctx + slot[k]);
            __builtin_prefetch(st->t_ctx + slot[k] + 1); /* s' may read the next one */
        }
}

static void stage_gather(sample_ctx *x, uint32_t c)
{
    const reco__replay_store *st = x->st;
    const size_t m = chunk_rows(x, c);
    const uint64_t *slot = x->slot[c % 3];
    row *rows = x->rows[c % 2];
    for (size_t k = 0; k < m; k++) {
        rows[k].slot = slot[k];
        rows[k].pos = POS(st, slot[k]);
        rows[k].info = INFO(st, slot[k]);
        rows[k].reward = REWARD(st, slot[k]);
        rows[k].back = rows[k].info & BACK_MASK;
    }
    if (x->read_ctx) {
        const reco_replay *r = x->r;
        for (size_t k = 0; k < m; k++) {
            const reco__replay_tctx tc = st->t_ctx[slot[k]];
            rows[k].seg = tc.seg;
            rows[k].elapsed = tc.elapsed;
            __builtin_prefetch(st->seg + tc.seg);
            if (r->U > 0)
                __builtin_prefetch(st->seg_user + (size_t)tc.seg * r->U);
            if (r->H > 0) {
                __builtin_prefetch(st->seg_long + (size_t)tc.seg * r->H);
                __builtin_prefetch(st->seg_long_fb + (size_t)tc.seg * r->H);
            }
        }
    }
    for (size_t k = 0; k < m; k++) {
        const uint64_t pos = rows[k].pos, back = rows[k].back;
        __builtin_prefetch(st->rec_item + pos);
        if (x->want_windows) {
            const uint64_t start = pos >= back ? pos - back : pos + x->r->R - back;
            /* up to L + 1 = 21 items span three lines, their feedback two */
            __builtin_prefetch(st->rec_item + start);
            __builtin_prefetch(st->rec_item + (start + pos) / 2);
            __builtin_prefetch(st->rec_fb + start);
            __builtin_prefetch(st->rec_fb + pos);
        }
    }
}

static void stage_write(sample_ctx *x, uint32_t c)
{
    const reco__replay_store *st = x->st;
    const uint64_t C = x->r->C;
    const size_t m = chunk_rows(x, c);
    const uint32_t b0 = c * SAMPLE_CHUNK;
    const row *rows = x->rows[c % 2];
    const float *w = x->w[c % 3], *prob = x->prob[c % 3];
    for (size_t k = 0; k < m; k++) {
        const uint64_t slot = rows[k].slot;
        const uint64_t off = slot >= x->tail_slot ? slot - x->tail_slot : slot + C - x->tail_slot;
        fill_row(x->out, x->r, st, b0 + k, &rows[k], st->tail + off, w[k], prob[k]);
    }
    if (x->want_ctx) /* a loop of its own: the rows above stay as they were without it */
        for (size_t k = 0; k < m; k++)
            fill_context(x->out, x->r, st, b0 + k, &rows[k]);
}

int reco_replay_sample(reco_replay_batch *batch, reco_replay *r, uint32_t n)
{
    if (batch == NULL || r == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_sample: out and replay must not be "
                               "NULL");
    int rc = reco__check_version(batch->version, RECO_REPLAY_BATCH_VERSION, "reco_replay_batch");
    if (rc < 0)
        return rc;
    if (n == 0)
        return reco__error_set(RECO_EINVAL, "reco_replay_sample: the batch size is 0");
    /* the caller's outputs; a version-1 struct ends before the context */
    reco_replay_batch view = RECO_REPLAY_BATCH_INIT;
    if (batch->version >= 2)
        view = *batch;
    else
        memcpy(&view, batch, offsetof(reco_replay_batch, user_features));
    const reco_replay_batch *out = &view;
    sample_ctx x;
    x.touch = 0;
    x.out = out;
    x.want_ctx = out->user_features != NULL || out->state_steps != NULL ||
                 out->next_steps != NULL || out->state_elapsed != NULL ||
                 out->next_elapsed != NULL || out->long_items != NULL ||
                 out->long_feedback != NULL;
    x.read_ctx = x.want_ctx && r->ctx;
    x.r = r;
    x.n = n;
    x.want_windows = out->state_items != NULL || out->state_feedback != NULL ||
                     out->next_items != NULL || out->next_feedback != NULL;
    lock(r);
    reco__replay_store *st = &r->st;
    x.st = st;
    x.size = st->head - st->tail;
    if (x.size < n) {
        unlock(r);
        if (x.size == 0)
            return reco__error_set(RECO_ESTATE, "reco_replay_sample: the buffer is empty");
        return reco__error_set(RECO_ESTATE, "reco_replay_sample: %llu transitions stored, "
                               "fewer than the batch of %u", (unsigned long long)x.size, n);
    }
    x.prioritized = r->kind == RECO_REPLAY_PROPORTIONAL;
    x.total = x.prioritized ? reco__replay_total(r) : (double)x.size;
    if (!(x.total > 0.0)) {
        unlock(r);
        return reco__error_set(RECO_ESTATE, "reco_replay_sample: every stored priority is 0 "
                               "(priority_eps is 0)");
    }
    x.tail_slot = st->tail % r->C;
    x.beta = current_beta(st);
    x.pmin = x.prioritized ? (double)tree_min(r, st) : 0.0;
    x.seg = x.total / (double)n;
    /* sweep the deepest level with at most 4 nodes per draw: cheaper than the descents
     * through it and the levels above (measured: 2x fewer additions at 1M and B = 256) */
    x.sweep_level = r->n_levels;
    while (x.sweep_level > 1 && r->level_nodes[x.sweep_level - 1] <= 4 * (uint64_t)n)
        x.sweep_level--;
    x.sw_node = 0;
    x.sw_before = 0.0;
    const uint32_t chunks = (n + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    for (uint32_t c = 0; c < chunks + 2; c++) {
        if (c < chunks)
            stage_draw(&x, c);
        if (c >= 1 && c - 1 < chunks)
            stage_gather(&x, c - 1);
        if (c >= 2)
            stage_write(&x, c - 2);
    }
    st->sample_step++;
    volatile touch_sink sink = x.touch;
    (void)sink;
    unlock(r);
    return RECO_OK;
}

/* ---- priorities ----------------------------------------------------------------------------- */

int reco_replay_update_priorities(size_t *updated_out, reco_replay *r, const uint64_t *indices,
                                  const float *priorities, size_t n)
{
    const char *fn = "reco_replay_update_priorities";
    if (r == NULL)
        return reco__error_set(RECO_EINVAL, "%s: replay is NULL", fn);
    if (n > 0 && (indices == NULL || priorities == NULL))
        return reco__error_set(RECO_EINVAL, "%s: indices and priorities must not be NULL", fn);
    for (size_t k = 0; k < n; k++)
        if (!(priorities[k] >= 0.0f && isfinite(priorities[k])))
            return reco__error_set(RECO_EINVAL, "%s: priorities[%zu] is %g, expected a finite "
                                   "value >= 0", fn, k, (double)priorities[k]);
    lock(r);
    reco__replay_store *st = &r->st;
    const int prioritized = r->kind == RECO_REPLAY_PROPORTIONAL;
    double given_max = 0.0;
    for (size_t k = 0; k < n; k++) {
        if (indices[k] >= st->head) {
            unlock(r);
            return reco__error_set(RECO_EINVAL, "%s: indices[%zu] = %llu was never issued (the "
                                   "next index is %llu)", fn, k,
                                   (unsigned long long)indices[k],
                                   (unsigned long long)st->head);
        }
        const double pe = (double)priorities[k] + st->eps;
        given_max = pe > given_max ? pe : given_max;
    }
    size_t updated = 0;
    const uint64_t C = r->C, tail = st->tail, tail_slot = tail % C;
    /* In chunks: leaves first, then the tree level by level over the distinct nodes, four
     * at a time (node_update4). Consecutive entries (a stratified batch comes sorted by
     * slot) often share a node, which is then recomputed once. Slots come from the offset to
     * the tail, not from index % C: a 64-bit division per entry cost as much as a level. */
    enum { CHUNK = 256 };
    uint64_t slots[CHUNK], nodes[CHUNK];
    for (size_t k0 = 0; k0 < n; k0 += CHUNK) {
        const size_t kn = n - k0 < CHUNK ? n - k0 : CHUNK;
        size_t m = 0;
        for (size_t k = k0; k < k0 + kn; k++) {
            if (indices[k] < tail)
                continue;
            updated++;
            if (!prioritized)
                continue;
            uint64_t slot = tail_slot + (indices[k] - tail);
            if (slot >= C)
                slot -= C;
            /* the level-1 minimum is the one line of the update that sampling did not
             * bring into the cache */
            __builtin_prefetch(st->min[1] + (slot / LEAF_FAN), 1);
            /* (p + eps)^alpha fits a float: p + eps rounds to at most FLT_MAX in double
             * (eps is far below its ulp there), and alpha <= 1 */
            st->leaf[slot] = (float)leaf_value((double)priorities[k] + st->eps, st->alpha);
            slots[m++] = slot;
        }
        for (int lvl = 1; lvl <= r->n_levels && m > 0; lvl++) {
            const unsigned shift = lvl == 1 ? 4 : 3; /* log2 of the fan-out below */
            /* distinct consecutive nodes, without a branch to mispredict */
            size_t d = 1;
            uint64_t prev = slots[0] >> shift;
            nodes[0] = prev;
            for (size_t k = 1; k < m; k++) {
                const uint64_t node = slots[k] >> shift;
                nodes[d] = node;
                d += node != prev;
                prev = node;
            }
            nodes_update(r, st, lvl, nodes, d);
            memcpy(slots, nodes, d * sizeof(uint64_t)); /* the next level's children */
            m = d;
        }
    }
    if (n > 0 && given_max > st->max_priority)
        st->max_priority = given_max;
    unlock(r);
    if (updated_out != NULL)
        *updated_out = updated;
    return RECO_OK;
}

/* ---- queries and knobs ---------------------------------------------------------------------- */

uint64_t reco_replay_size(const reco_replay *r)
{
    if (r == NULL)
        return 0;
    lock(r);
    const uint64_t size = r->st.head - r->st.tail;
    unlock(r);
    return size;
}

int reco_replay_get_stats(reco_replay_stats *out, const reco_replay *r)
{
    if (out == NULL || r == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_get_stats: out and replay must not be "
                               "NULL");
    int rc = reco__check_version(out->version, RECO_REPLAY_STATS_VERSION, "reco_replay_stats");
    if (rc < 0)
        return rc;
    lock(r);
    const reco__replay_store *st = &r->st;
    out->size = st->head - st->tail;
    out->capacity = r->C;
    out->records = st->rec_count;
    out->record_capacity = r->R;
    out->oldest_index = st->tail;
    out->next_index = st->head;
    out->sample_step = st->sample_step;
    out->beta = current_beta(st);
    out->alpha = st->alpha;
    out->total_priority =
        r->kind == RECO_REPLAY_PROPORTIONAL ? reco__replay_total(r) : (double)out->size;
    out->max_priority = st->max_priority;
    out->bytes = r->bytes + sizeof(reco_replay);
    out->bytes_per_transition = (double)out->bytes / (double)r->C;
    if (out->version >= 2) {
        out->segments = st->seg_count;
        out->segment_capacity = r->Sg;
    }
    unlock(r);
    return RECO_OK;
}

static const struct {
    double lo, hi;
} param_bounds[] = {
    [RECO_REPLAY_PARAM_ALPHA] = {0.0, 1.0},
    [RECO_REPLAY_PARAM_BETA] = {0.0, 1.0},
    [RECO_REPLAY_PARAM_BETA0] = {0.0, 1.0},
    [RECO_REPLAY_PARAM_BETA_FINAL] = {0.0, 1.0},
    [RECO_REPLAY_PARAM_BETA_STEPS] = {0.0, MAX_STEPS},
    [RECO_REPLAY_PARAM_SAMPLE_STEP] = {0.0, MAX_STEPS},
    [RECO_REPLAY_PARAM_PRIORITY_EPS] = {0.0, MAX_EPS},
    [RECO_REPLAY_PARAM_MAX_PRIORITY] = {1e-30, (double)FLT_MAX},
};

int reco_replay_param_bounds(double *min_out, double *max_out, reco_replay_param param)
{
    if (min_out == NULL || max_out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_param_bounds: NULL output");
    if ((int)param < RECO_REPLAY_PARAM_ALPHA || (int)param > RECO_REPLAY_PARAM_MAX_PRIORITY)
        return reco__error_set(RECO_EINVAL, "reco_replay_param_bounds: unknown parameter %d",
                               (int)param);
    *min_out = param_bounds[param].lo;
    *max_out = param_bounds[param].hi;
    return RECO_OK;
}

/* Re-weights every stored leaf from alpha `old` to `new`: p^old -> (p^old)^(new/old). Checks
 * first, so that a refusal changes nothing. Caller holds the lock. */
static int set_alpha(reco_replay *r, double alpha)
{
    reco__replay_store *st = &r->st;
    if (r->kind == RECO_REPLAY_PROPORTIONAL && st->alpha != alpha && st->alpha > 0.0) {
        const double ratio = alpha / st->alpha;
        const uint64_t C = r->C;
        for (int pass = 0; pass < 2; pass++) {
            uint64_t slot = st->tail % C;
            for (uint64_t i = st->tail; i < st->head; i++) {
                const double v = reco__pow((double)st->leaf[slot], ratio);
                if (pass == 0 && !(v <= (double)FLT_MAX))
                    return reco__error_set(RECO_EINVAL, "reco_replay_set_param: alpha %g would "
                                           "make the weight of index %llu overflow", alpha,
                                           (unsigned long long)i);
                if (pass == 1)
                    st->leaf[slot] = (float)v;
                if (++slot == C)
                    slot = 0;
            }
        }
        tree_rebuild(r, st);
    }
    st->alpha = alpha;
    return RECO_OK;
}

int reco_replay_set_param(reco_replay *r, reco_replay_param param, double value)
{
    double lo = 0.0, hi = 0.0;
    if (r == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_set_param: replay is NULL");
    int rc = reco_replay_param_bounds(&lo, &hi, param);
    if (rc < 0)
        return rc;
    if (!(value >= lo && value <= hi))
        return reco__error_set(RECO_EINVAL, "reco_replay_set_param: %g is out of range [%g, %g]",
                               value, lo, hi);
    if ((param == RECO_REPLAY_PARAM_BETA_STEPS || param == RECO_REPLAY_PARAM_SAMPLE_STEP) &&
        value != floor(value))
        return reco__error_set(RECO_EINVAL, "reco_replay_set_param: a step count must be an "
                               "integer, got %g", value);
    lock(r);
    reco__replay_store *st = &r->st;
    switch (param) {
    case RECO_REPLAY_PARAM_ALPHA: rc = set_alpha(r, value); break;
    case RECO_REPLAY_PARAM_BETA: st->beta0 = st->beta_final = value; break;
    case RECO_REPLAY_PARAM_BETA0: st->beta0 = value; break;
    case RECO_REPLAY_PARAM_BETA_FINAL: st->beta_final = value; break;
    case RECO_REPLAY_PARAM_BETA_STEPS: st->beta_steps = (uint64_t)value; break;
    case RECO_REPLAY_PARAM_SAMPLE_STEP: st->sample_step = (uint64_t)value; break;
    case RECO_REPLAY_PARAM_PRIORITY_EPS: st->eps = value; break;
    case RECO_REPLAY_PARAM_MAX_PRIORITY:
        if (r->kind == RECO_REPLAY_PROPORTIONAL && leaf_value(value, st->alpha) < 0.0)
            rc = reco__error_set(RECO_EINVAL, "reco_replay_set_param: max priority %g makes "
                                 "(p)^alpha exceed FLT_MAX", value);
        else
            st->max_priority = value;
        break;
    }
    unlock(r);
    return rc;
}

int reco_replay_get_param(double *out, const reco_replay *r, reco_replay_param param)
{
    if (out == NULL || r == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_get_param: NULL argument");
    double v = 0.0;
    int known = 1;
    lock(r);
    const reco__replay_store *st = &r->st;
    switch (param) {
    case RECO_REPLAY_PARAM_ALPHA: v = st->alpha; break;
    case RECO_REPLAY_PARAM_BETA: v = current_beta(st); break;
    case RECO_REPLAY_PARAM_BETA0: v = st->beta0; break;
    case RECO_REPLAY_PARAM_BETA_FINAL: v = st->beta_final; break;
    case RECO_REPLAY_PARAM_BETA_STEPS: v = (double)st->beta_steps; break;
    case RECO_REPLAY_PARAM_SAMPLE_STEP: v = (double)st->sample_step; break;
    case RECO_REPLAY_PARAM_PRIORITY_EPS: v = st->eps; break;
    case RECO_REPLAY_PARAM_MAX_PRIORITY: v = st->max_priority; break;
    default: known = 0; break;
    }
    unlock(r);
    if (!known)
        return reco__error_set(RECO_EINVAL, "reco_replay_get_param: unknown parameter %d",
                               (int)param);
    *out = v;
    return RECO_OK;
}

/* ---- save and load -------------------------------------------------------------------------- */

/* Format 1 has the first 4 geometry entries and the first 6 counters. */
enum { N_GEOMETRY = 8, N_PARAMS = 5, N_COUNTERS = 8, N_GEOMETRY_V1 = 4, N_COUNTERS_V1 = 6 };

/* Writes `count` elements of a ring array (each `elem` bytes, a whole number of `type`
 * values), starting at ring index `start`, as one section. */
static int write_ring(reco__writer *w, const char *name, uint32_t type, const void *base,
                      size_t elem, uint64_t ring, uint64_t start, uint64_t count)
{
    const unsigned char *p = base;
    const uint64_t first = ring - start >= count ? count : ring - start;
    const uint64_t mult = elem / reco__file_type_size(type); /* values per element */
    int rc = reco__writer_section_begin(w, name, type, count * mult);
    if (rc == RECO_OK && first > 0)
        rc = reco__writer_section_append(w, p + start * elem, first * mult);
    if (rc == RECO_OK && count > first)
        rc = reco__writer_section_append(w, p, (count - first) * mult);
    if (rc == RECO_OK)
        rc = reco__writer_section_end(w);
    return rc;
}

/* The session context sections: per stored transition, then per segment context in use. */
static int write_context(reco__writer *w, const reco_replay *r, const reco__replay_store *st)
{
    const uint64_t seg_tail = (st->seg_head + r->Sg - st->seg_count) % r->Sg;
    int rc;
    if ((rc = write_ring(w, "t_ctx", RECO__FILE_BYTES, st->t_ctx, sizeof(reco__replay_tctx),
                         r->C, st->tail % r->C, st->head - st->tail)) < 0 ||
        (rc = write_ring(w, "seg", RECO__FILE_BYTES, st->seg, sizeof(reco__replay_seg), r->Sg,
                         seg_tail, st->seg_count)) < 0 ||
        (r->U > 0 && (rc = write_ring(w, "seg_user", RECO__FILE_F32, st->seg_user,
                                      4 * (size_t)r->U, r->Sg, seg_tail, st->seg_count)) < 0) ||
        (r->H > 0 && (rc = write_ring(w, "seg_long", RECO__FILE_I32, st->seg_long,
                                      4 * (size_t)r->H, r->Sg, seg_tail, st->seg_count)) < 0) ||
        (r->H > 0 && (rc = write_ring(w, "seg_long_fb", RECO__FILE_BYTES, st->seg_long_fb,
                                      2 * (size_t)r->H, r->Sg, seg_tail, st->seg_count)) < 0))
        return rc;
    return RECO_OK;
}

int reco_replay_save(const reco_replay *r, const char *path)
{
    if (r == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_save: replay and path must not be NULL");
    reco__writer *w = NULL;
    int rc = reco__writer_open(&w, &r->alloc, path, replay_magic, REPLAY_FORMAT_VERSION);
    if (rc < 0)
        return rc;
    lock(r);
    const reco__replay_store *st = &r->st;
    const uint64_t geometry[N_GEOMETRY] = {r->C, r->R, r->L, r->kind,
                                           (uint64_t)r->ctx, r->U, r->H, r->Sg};
    const double params[N_PARAMS] = {st->alpha, st->beta0, st->beta_final, st->eps,
                                     st->max_priority};
    const uint64_t counters[N_COUNTERS] = {st->head, st->tail, st->rec_head, st->rec_count,
                                           st->beta_steps, st->sample_step, st->seg_head,
                                           st->seg_count};
    const uint64_t size = st->head - st->tail;
    const uint64_t rec_tail = (st->rec_head + r->R - st->rec_count) % r->R;
    const uint64_t tail_slot = st->tail % r->C;
    if ((rc = reco__writer_section(w, "geometry", RECO__FILE_U64, geometry, N_GEOMETRY)) < 0 ||
        (rc = reco__writer_section(w, "params", RECO__FILE_F64, params, N_PARAMS)) < 0 ||
        (rc = reco__writer_section(w, "counters", RECO__FILE_U64, counters, N_COUNTERS)) < 0 ||
        (rc = reco__writer_section(w, "rng", RECO__FILE_U64, st->rng.s, 4)) < 0 ||
        (rc = write_ring(w, "rec_item", RECO__FILE_I32, st->rec_item, 4, r->R, rec_tail,
                         st->rec_count)) < 0 ||
        (rc = write_ring(w, "rec_fb", RECO__FILE_BYTES, st->rec_fb, 2, r->R, rec_tail,
                         st->rec_count)) < 0 ||
        (rc = write_ring(w, "transitions", RECO__FILE_BYTES, st->trans, RECO__REPLAY_TREC,
                         r->C, tail_slot, size)) < 0 ||
        (st->leaf != NULL && (rc = write_ring(w, "t_leaf", RECO__FILE_F32, st->leaf, 4, r->C,
                                              tail_slot, size)) < 0) ||
        (r->ctx && (rc = write_context(w, r, st)) < 0)) {
        unlock(r);
        reco__writer_abort(w);
        return rc;
    }
    unlock(r);
    return reco__writer_commit(w);
}

/* Reverses the elements lo..hi-1 (each `elem` bytes) of `base` in place. */
static void reverse(void *base, size_t elem, uint64_t lo, uint64_t hi)
{
    unsigned char *p = base, t[64];
    if (hi <= lo)
        return;
    for (uint64_t i = lo, j = hi - 1; i < j; i++, j--)
        for (size_t o = 0; o < elem; o += sizeof t) { /* a segment's context may be large */
            const size_t k = elem - o < sizeof t ? elem - o : sizeof t;
            memcpy(t, p + i * elem + o, k);
            memcpy(p + i * elem + o, p + j * elem + o, k);
            memcpy(p + j * elem + o, t, k);
        }
}

/* Reads a section written by write_ring() into a ring array of `ring` elements so that its
 * first element lands at index `start`: read to the front, then rotate right by `start`. */
static int read_ring(reco__reader *rd, const char *name, uint32_t type, void *base, size_t elem,
                     uint64_t ring, uint64_t start, uint64_t count)
{
    const uint64_t mult = elem / reco__file_type_size(type);
    int rc = reco__reader_section(rd, name, type, base, count * mult);
    if (rc < 0 || start == 0 || count == 0)
        return rc;
    if (start + count <= ring) {
        memmove((unsigned char *)base + start * elem, base, count * elem);
    } else { /* rotate the whole ring right by `start` */
        reverse(base, elem, 0, ring - start);
        reverse(base, elem, ring - start, ring);
        reverse(base, elem, 0, ring);
    }
    return RECO_OK;
}

static int inconsistent(const char *path, const char *what, uint64_t index)
{
    return reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "inconsistent replay contents: %s "
                              "(transition index %llu)", what, (unsigned long long)index);
}

/* Checks that a loaded store describes valid segments: every window lies inside its
 * segment's records, the records are exactly those in use, values are in range. A file
 * that passes its checksums but was written by something else must not make sampling read
 * outside the rings. */
static int check_store(const reco_replay *r, const reco__replay_store *st, const char *path)
{
    const uint64_t C = r->C, R = r->R, size = st->head - st->tail;
    if (size == 0)
        return st->rec_count == 0 ? RECO_OK : inconsistent(path, "records without transitions",
                                                           st->head);
    uint64_t expect = (st->rec_head + R - st->rec_count) % R; /* next record expected */
    uint64_t used = 0, h = 0, j = 0, prev_pos = 0;
    for (uint64_t i = 0; i < size; i++) {
        const uint64_t index = st->tail + i, slot = index % C;
        const uint16_t info = INFO(st, slot);
        const uint64_t back = info & BACK_MASK, pos = POS(st, slot);
        if (info & INFO_RESERVED)
            return inconsistent(path, "reserved info bits set", index);
        if (pos >= R)
            return inconsistent(path, "record index past the ring", index);
        if (i == 0 && !(info & SEG_START))
            return inconsistent(path, "the oldest transition does not start a segment", index);
        if (info & SEG_START) {
            if (back > r->L)
                return inconsistent(path, "history longer than the lookback", index);
            h = back;
            j = 0;
            for (uint64_t k = 0; k < h; k++) {
                const uint64_t ri = (expect + k) % R;
                if (st->rec_item[ri] < RECO_PAD)
                    return inconsistent(path, "history item id below RECO_PAD", index);
            }
            if (pos != (expect + h) % R)
                return inconsistent(path, "segment records not contiguous", index);
            used += h;
        } else {
            j++;
            if (pos != (prev_pos + 1) % R)
                return inconsistent(path, "steps of a segment not contiguous", index);
            if (back != (h + j < r->L ? h + j : r->L))
                return inconsistent(path, "window length does not match the segment", index);
        }
        if (st->rec_item[pos] < 0)
            return inconsistent(path, "action item id below 0", index);
        if ((info & DONE_BIT) && i + 1 < size &&
            !(INFO(st, (index + 1) % C) & SEG_START))
            return inconsistent(path, "done set before the end of a segment", index);
        if (!isfinite(REWARD(st, slot)))
            return inconsistent(path, "reward not finite", index);
        if (st->leaf != NULL && !(st->leaf[slot] >= 0.0f && isfinite(st->leaf[slot])))
            return inconsistent(path, "priority negative or not finite", index);
        used++;
        prev_pos = pos;
        expect = (pos + 1) % R;
    }
    if (used != st->rec_count || expect != st->rec_head)
        return inconsistent(path, "records in use do not match the segments", st->head);
    return RECO_OK;
}

/* The session context of a loaded store whose segments check_store() accepted: each
 * segment has the next context in the ring, which names its first record and its length,
 * each transition names its segment's context, and every value is in range. */
static int check_store_context(const reco_replay *r, const reco__replay_store *st,
                               const char *path)
{
    const uint64_t C = r->C, Sg = r->Sg, size = st->head - st->tail;
    uint64_t k = (st->seg_head + Sg - st->seg_count) % Sg, segs = 0, j = 0;
    const reco__replay_seg *e = NULL;
    for (uint64_t i = 0; i < size; i++) {
        const uint64_t index = st->tail + i, slot = index % C;
        if (INFO(st, slot) & SEG_START) {
            if (e != NULL && j != e->n_steps)
                return inconsistent(path, "a segment's length differs from its context's", index);
            if (segs == st->seg_count)
                return inconsistent(path, "more segments than segment contexts", index);
            if (segs > 0)
                k = k + 1 == Sg ? 0 : k + 1;
            segs++;
            e = &st->seg[k];
            if (e->first_pos != POS(st, slot))
                return inconsistent(path, "a segment context names another first record",
                                    index);
            if (e->n_steps == 0 || (uint64_t)e->first_step + e->n_steps > UINT32_MAX)
                return inconsistent(path, "segment context's steps out of range", index);
            if (!(e->end_elapsed >= 0.0f) || !isfinite(e->end_elapsed))
                return inconsistent(path, "elapsed time negative or not finite", index);
            for (uint64_t q = 0; q < r->U; q++)
                if (!isfinite(st->seg_user[k * r->U + q]))
                    return inconsistent(path, "user feature not finite", index);
            for (uint64_t q = 0; q < r->H; q++)
                if (st->seg_long[k * r->H + q] < RECO_PAD)
                    return inconsistent(path, "long-term item id below RECO_PAD", index);
            j = 0;
        }
        const reco__replay_tctx c = st->t_ctx[slot];
        if (c.seg != k)
            return inconsistent(path, "a transition names another segment context", index);
        if (!(c.elapsed >= 0.0f) || !isfinite(c.elapsed))
            return inconsistent(path, "elapsed time negative or not finite", index);
        j++;
    }
    if ((e != NULL && j != e->n_steps) || segs != st->seg_count)
        return inconsistent(path, "segment contexts in use do not match the segments", st->head);
    return RECO_OK;
}

static int geometry_mismatch(const char *path, const char *what, uint64_t file, uint64_t mine)
{
    return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "geometry",
                              "%s is %llu in the file but %llu in this buffer", what,
                              (unsigned long long)file, (unsigned long long)mine);
}

static int read_file(reco_replay *r, reco__reader *rd, uint32_t format, const char *path,
                     reco__replay_store *st)
{
    /* format 1: no session context, and counters without the context ring's */
    uint64_t geometry[N_GEOMETRY] = {0}, counters[N_COUNTERS] = {0};
    const size_t n_geometry = format >= 2 ? N_GEOMETRY : N_GEOMETRY_V1;
    const size_t n_counters = format >= 2 ? N_COUNTERS : N_COUNTERS_V1;
    double params[N_PARAMS];
    int rc;
    if ((rc = reco__reader_section(rd, "geometry", RECO__FILE_U64, geometry, n_geometry)) < 0)
        return rc;
    if (geometry[0] != r->C)
        return geometry_mismatch(path, "capacity", geometry[0], r->C);
    if (geometry[1] != r->R)
        return geometry_mismatch(path, "record_capacity", geometry[1], r->R);
    if (geometry[2] != r->L)
        return geometry_mismatch(path, "lookback", geometry[2], r->L);
    if (geometry[3] != r->kind)
        return geometry_mismatch(path, "kind", geometry[3], r->kind);
    if (geometry[4] != (uint64_t)r->ctx)
        return geometry_mismatch(path, format >= 2 ? "context" : "context (format 1 has none)",
                                 geometry[4], (uint64_t)r->ctx);
    if (geometry[5] != r->U)
        return geometry_mismatch(path, "user_dim", geometry[5], r->U);
    if (geometry[6] != r->H)
        return geometry_mismatch(path, "long_len", geometry[6], r->H);
    if (geometry[7] != r->Sg)
        return geometry_mismatch(path, "segment_capacity", geometry[7], r->Sg);
    if ((rc = reco__reader_section(rd, "params", RECO__FILE_F64, params, N_PARAMS)) < 0 ||
        (rc = reco__reader_section(rd, "counters", RECO__FILE_U64, counters, n_counters)) < 0 ||
        (rc = reco__reader_section(rd, "rng", RECO__FILE_U64, st->rng.s, 4)) < 0)
        return rc;
    static const char *const pnames[N_PARAMS] = {"alpha", "beta0", "beta_final",
                                                 "priority_eps", "max_priority"};
    const double plo[N_PARAMS] = {0, 0, 0, 0, 1e-30};
    const double phi[N_PARAMS] = {1, 1, 1, MAX_EPS, (double)FLT_MAX};
    for (int k = 0; k < N_PARAMS; k++)
        if (!(params[k] >= plo[k] && params[k] <= phi[k]))
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "params",
                                      "%s = %g is out of range", pnames[k], params[k]);
    st->alpha = params[0];
    st->beta0 = params[1];
    st->beta_final = params[2];
    st->eps = params[3];
    st->max_priority = params[4];
    st->head = counters[0];
    st->tail = counters[1];
    st->rec_head = counters[2];
    st->rec_count = counters[3];
    st->beta_steps = counters[4];
    st->sample_step = counters[5];
    st->seg_head = counters[6];
    st->seg_count = counters[7];
    if (st->tail > st->head || st->head - st->tail > r->C || st->rec_head >= r->R ||
        st->rec_count > r->R || (double)st->beta_steps > MAX_STEPS ||
        (r->ctx ? st->seg_head >= r->Sg || st->seg_count > r->Sg
                : st->seg_head != 0 || st->seg_count != 0))
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "counters",
                                  "counters out of range (indices %llu..%llu, records %llu at "
                                  "%llu)", (unsigned long long)st->tail,
                                  (unsigned long long)st->head,
                                  (unsigned long long)st->rec_count,
                                  (unsigned long long)st->rec_head);
    if ((st->rng.s[0] | st->rng.s[1] | st->rng.s[2] | st->rng.s[3]) == 0)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "rng", "generator state is zero");
    const uint64_t size = st->head - st->tail;
    const uint64_t rec_tail = (st->rec_head + r->R - st->rec_count) % r->R;
    const uint64_t tail_slot = st->tail % r->C;
    if ((rc = read_ring(rd, "rec_item", RECO__FILE_I32, st->rec_item, 4, r->R, rec_tail,
                        st->rec_count)) < 0 ||
        (rc = read_ring(rd, "rec_fb", RECO__FILE_BYTES, st->rec_fb, 2, r->R, rec_tail,
                        st->rec_count)) < 0 ||
        (rc = read_ring(rd, "transitions", RECO__FILE_BYTES, st->trans, RECO__REPLAY_TREC, r->C,
                        tail_slot, size)) < 0)
        return rc;
    if (st->leaf != NULL) {
        tree_clear(r, st);
        if ((rc = read_ring(rd, "t_leaf", RECO__FILE_F32, st->leaf, 4, r->C, tail_slot,
                            size)) < 0)
            return rc;
        /* Slots outside the stored range must weigh nothing (the rotation moved zeros). */
        uint64_t slot = st->head % r->C;
        for (uint64_t i = size; i < r->C; i++) {
            st->leaf[slot] = 0.0f;
            if (++slot == r->C)
                slot = 0;
        }
    }
    if (r->ctx) {
        const uint64_t seg_tail = (st->seg_head + r->Sg - st->seg_count) % r->Sg;
        if ((rc = read_ring(rd, "t_ctx", RECO__FILE_BYTES, st->t_ctx, sizeof(reco__replay_tctx),
                            r->C, tail_slot, size)) < 0 ||
            (rc = read_ring(rd, "seg", RECO__FILE_BYTES, st->seg, sizeof(reco__replay_seg),
                            r->Sg, seg_tail, st->seg_count)) < 0 ||
            (r->U > 0 && (rc = read_ring(rd, "seg_user", RECO__FILE_F32, st->seg_user,
                                         4 * (size_t)r->U, r->Sg, seg_tail,
                                         st->seg_count)) < 0) ||
            (r->H > 0 && (rc = read_ring(rd, "seg_long", RECO__FILE_I32, st->seg_long,
                                         4 * (size_t)r->H, r->Sg, seg_tail,
                                         st->seg_count)) < 0) ||
            (r->H > 0 && (rc = read_ring(rd, "seg_long_fb", RECO__FILE_BYTES, st->seg_long_fb,
                                         2 * (size_t)r->H, r->Sg, seg_tail,
                                         st->seg_count)) < 0))
            return rc;
    }
    if ((rc = check_store(r, st, path)) < 0 ||
        (r->ctx && (rc = check_store_context(r, st, path)) < 0))
        return rc;
    if (st->leaf != NULL)
        tree_rebuild(r, st);
    return RECO_OK;
}

int reco_replay_load(reco_replay *r, const char *path)
{
    if (r == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_replay_load: replay and path must not be NULL");
    reco__reader *rd = NULL;
    uint32_t format = 0;
    int rc = reco__reader_open(&rd, &r->alloc, path, replay_magic, 1, REPLAY_FORMAT_VERSION,
                               &format);
    if (rc < 0)
        return rc;
    reco__replay_store fresh;
    if ((rc = store_alloc(r, &fresh)) < 0) {
        reco__reader_close(rd);
        return rc;
    }
    rc = read_file(r, rd, format, path, &fresh);
    reco__reader_close(rd);
    if (rc < 0) {
        reco__free(&r->alloc, fresh.block);
        return rc;
    }
    lock(r);
    reco__replay_store old = r->st;
    r->st = fresh;
    unlock(r);
    reco__free(&r->alloc, old.block);
    return RECO_OK;
}
