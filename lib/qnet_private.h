/* reco_qnet internals shared by lib/qnet.c and lib/qnet_io.c (checkpoints). */
#ifndef RECO_QNET_PRIVATE_H
#define RECO_QNET_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/alloc.h"
#include "reco/model.h"
#include "reco/qnet.h"

struct reco_qnet {
    reco_allocator alloc;
    reco_qnet_options opts;   /* copied; allocator and model pointers cleared */
    reco_model *online, *target;
    uint32_t q_head;
    size_t max_batch, max_candidates, n_params;
    uint64_t n_updates;
    float *qnext;             /* (B, C) online Q(s', c) */
    int32_t *astar;           /* (B) a* = argmax of each row of qnext (item ids) */
    float *qtarget;           /* (B) target Q(s', a*) */
    float *y;                 /* (B) TD targets */
    float *pred;              /* (B) online Q(s, a) */
    float *last_good;         /* (n_params) online parameters before the last step, or NULL */
    int has_last_good;
    /* the reward weights of the warm start (reco_qnet_create_warm), checked by the trainer
     * against its envs' declared weights; n_warm 0 when unknown (not warm-started, or
     * loaded from a checkpoint) */
    float warm_w[64];
    uint32_t n_warm;
};

/* Copies `in` (NULL: the defaults) into `o` after checking its version and every field;
 * errors name the option and start with `fn`. Used by creation and by checkpoint loading. */
int reco__qnet_check_options(reco_qnet_options *o, const reco_qnet_options *in, const char *fn);

/* The reward weights of the warm start and their count (0 and NULL when unknown). */
const float *reco__qnet_warm_weights(const reco_qnet *q, uint32_t *n_out);

#endif /* RECO_QNET_PRIVATE_H */
