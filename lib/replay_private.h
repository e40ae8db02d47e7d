/* reco_replay internals, shared with tests/test_replay.c (which links the object files to
 * check the tree against its leaves). Design and memory: docs/replay.md. */
#ifndef RECO_REPLAY_PRIVATE_H
#define RECO_REPLAY_PRIVATE_H

#include <pthread.h>
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

/* Everything reco_replay_load() replaces: storage and mutable state. */
typedef struct reco__replay_store {
    void *block;        /* the one allocation that holds every array below */
    int32_t *rec_item;  /* (R) interaction records: item id (or RECO_PAD in a history) */
    uint16_t *rec_fb;   /* (R) their feedback bits */
    unsigned char *trans; /* (C) transition entries of RECO__REPLAY_TREC bytes */
    float *leaf;        /* (Cp) p^alpha per slot, 0 when empty; NULL for the uniform kind */
    double *sum[RECO__REPLAY_MAX_LEVELS + 1]; /* [k], k = 1..n_levels: sums of level k */
    float *min[RECO__REPLAY_MAX_LEVELS + 1];  /* [k]: least positive leaf below, or +inf */

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

/* Root of the sum-tree (the total priority); 0 for the uniform kind. Caller holds the lock. */
double reco__replay_total(const reco_replay *r);

#endif /* RECO_REPLAY_PRIVATE_H */
