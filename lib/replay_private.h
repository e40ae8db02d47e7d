/* reco_replay internals, shared with tests/test_replay.c (which links the object files to
 * check the tree against its leaves). Design and memory: docs/replay.md. */
#ifndef RECO_REPLAY_PRIVATE_H
#define RECO_REPLAY_PRIVATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "reco/replay.h"
#include "reco/rng.h"

/* Sum-tree shape: a level-1 node sums 16 float leaves (one 64-byte line); every higher node
 * sums 8 doubles (one line). Sums are double, leaves and minima float. */
#define RECO__REPLAY_LEAF_FAN 16u
#define RECO__REPLAY_NODE_FAN 8u
/* Levels above the leaves: 2^31 leaves need 1 + ceil(27 / 3) = 10. */
#define RECO__REPLAY_MAX_LEVELS 12

/* A transition entry is 10 packed bytes, so that sampling touches one cache line per row
 * rather than one per field: pos (u32, record index of the action), reward (f32), info
 * (u16: bits 0..9 "back" = records of the same segment before the action record that the
 * state window holds, min(L, h + j); bit 14: first step of its segment; bit 15: done). */
#define RECO__REPLAY_TREC 10u
#define RECO__REPLAY_BACK_MASK 0x03ffu
#define RECO__REPLAY_SEG_START 0x4000u
#define RECO__REPLAY_DONE 0x8000u

/* The session context of a buffer that stores one (docs/replay.md, "Session context").
 * Per transition slot: the segment context it belongs to and the elapsed seconds at its
 * state. Per segment context (a ring of Sg entries, FIFO with the segments): the steps of the
 * session before the segment, its step count, the record index of its first step (so a
 * transition's step within the segment is its record offset from there), the elapsed seconds
 * after its last step, then U user features and H long-term interactions in arrays of their
 * own. The elapsed time of s' is the next slot's (same segment) or the segment's end. */
typedef struct reco__replay_tctx {
    uint32_t seg;   /* segment context slot, 0..Sg-1 */
    float elapsed;  /* seconds at the transition's state */
} reco__replay_tctx;

typedef struct reco__replay_seg {
    uint32_t first_step; /* steps of the session before the segment's first step */
    uint32_t n_steps;    /* transitions of the segment */
    uint32_t first_pos;  /* record index of its first step */
    float end_elapsed;   /* seconds after its last step */
} reco__replay_seg;

/* Everything reco_replay_load() replaces: storage and mutable state. */
typedef struct reco__replay_store {
    void *block;        /* the one allocation that holds every array below */
    int32_t *rec_item;  /* (R) interaction records: item id (or RECO_PAD in a history) */
    uint16_t *rec_fb;   /* (R) their feedback bits */
    unsigned char *trans; /* (C) transition entries of RECO__REPLAY_TREC bytes */
    float *leaf;        /* (Cp) p^alpha per slot, 0 when empty; NULL for the uniform kind */
    double *sum[RECO__REPLAY_MAX_LEVELS + 1]; /* [k], k = 1..n_levels: sums of level k */
    float *min[RECO__REPLAY_MAX_LEVELS + 1];  /* [k]: least positive leaf below, or +inf */
    /* the session context; all NULL without one */
    reco__replay_tctx *t_ctx;  /* (C) */
    reco__replay_seg *seg;     /* (Sg) */
    float *seg_user;           /* (Sg, U); NULL when U is 0 */
    int32_t *seg_long;         /* (Sg, H); NULL when H is 0 */
    uint16_t *seg_long_fb;     /* (Sg, H) */
    uint64_t seg_head, seg_count; /* next context slot; contexts in use (ending at seg_head) */

    uint64_t head, tail;         /* stored transitions have indices [tail, head) */
    uint64_t rec_head, rec_count; /* next record slot; records in use (ending at rec_head) */
    double max_priority;         /* largest priority + eps reported (or initial_priority) */
    double alpha, beta0, beta_final, eps;
    uint64_t beta_steps, sample_step;
    reco_rng rng;
} reco__replay_store;

struct reco_replay {
    reco_allocator alloc;
    pthread_mutex_t lock;
    reco_replay_options opts; /* as created, allocator pointer cleared */
    uint64_t C, R, Cp;        /* capacity, record capacity, leaves (C rounded up to 16) */
    uint32_t L;
    uint32_t kind;
    int ctx;                  /* the buffer stores the session context */
    uint32_t U, H;            /* user features, long-term history per segment (ctx only) */
    uint64_t Sg;              /* segment contexts (ctx only; else 0) */
    int n_levels;             /* levels above the leaves (0 for the uniform kind) */
    uint64_t level_nodes[RECO__REPLAY_MAX_LEVELS + 1]; /* nodes of level k; [0] = Cp */
    uint64_t level_alloc[RECO__REPLAY_MAX_LEVELS + 1]; /* allocated (padded to 8) */
    size_t bytes;             /* size of a store's block */
    reco__replay_store st;
};

static inline uint32_t reco__replay_pos(const reco__replay_store *st, uint64_t slot)
{
    uint32_t v;
    memcpy(&v, st->trans + slot * RECO__REPLAY_TREC, 4);
    return v;
}

static inline float reco__replay_reward(const reco__replay_store *st, uint64_t slot)
{
    float v;
    memcpy(&v, st->trans + slot * RECO__REPLAY_TREC + 4, 4);
    return v;
}

static inline uint16_t reco__replay_info(const reco__replay_store *st, uint64_t slot)
{
    uint16_t v;
    memcpy(&v, st->trans + slot * RECO__REPLAY_TREC + 8, 2);
    return v;
}

static inline void reco__replay_set(reco__replay_store *st, uint64_t slot, uint32_t pos,
                                    float reward, uint16_t info)
{
    unsigned char *e = st->trans + slot * RECO__REPLAY_TREC;
    memcpy(e, &pos, 4);
    memcpy(e + 4, &reward, 4);
    memcpy(e + 8, &info, 2);
}

/* The caller's segment as a current-version struct: the fields past its version take the
 * defaults of a version-1 segment (no context). The version must have been checked. */
static inline reco_replay_segment reco__replay_segment_of(const reco_replay_segment *s)
{
    reco_replay_segment v = RECO_REPLAY_SEGMENT_INIT;
    if (s->version >= RECO_REPLAY_SEGMENT_VERSION)
        v = *s;
    else
        memcpy(&v, s, offsetof(reco_replay_segment, first_step));
    v.version = RECO_REPLAY_SEGMENT_VERSION;
    return v;
}

/* Root of the sum-tree (the total priority); 0 for the uniform kind. Caller holds the lock. */
double reco__replay_total(const reco_replay *r);

#endif /* RECO_REPLAY_PRIVATE_H */
