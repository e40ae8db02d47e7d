/* reco_model internals shared with the Q-network and the tests: the parameter layout (one
 * float block carved by an offset table, llm.c style) and the activation workspace. */
#ifndef RECO_MODEL_PRIVATE_H
#define RECO_MODEL_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/model.h"
#include "nn_private.h"

#define RECO__MODEL_MAX_BLOCKS 16

/* Offsets (in floats) of each parameter tensor inside the parameter block. Dense tensors come
 * first, [0, n_dense); the item-indexed tensors (item_emb, item_bias), updated sparsely, come
 * last. Per block: LayerNorm 1, fused QKV (d, 3d) with columns [Q | K | V], attention output
 * projection, LayerNorm 2, FFN. */
typedef struct reco__block_layout {
    size_t ln1_g, ln1_b; /* (d) */
    size_t w_qkv;        /* (d, 3d) */
    size_t b_qkv;        /* (3d) */
    size_t w_o, b_o;     /* (d, d), (d) */
    size_t ln2_g, ln2_b; /* (d) */
    size_t w_ff1, b_ff1; /* (d, f), (f) */
    size_t w_ff2, b_ff2; /* (f, d), (d) */
} reco__block_layout;

typedef struct reco__model_layout {
    size_t pos_emb;   /* (L + 1, d): history slots then the user slot */
    size_t sig_emb;   /* (F, d) */
    size_t user_tok;  /* (d) */
    size_t user_proj; /* (U, d), only when U > 0 */
    reco__block_layout blk[RECO__MODEL_MAX_BLOCKS];
    size_t lnf_g, lnf_b;  /* (d) */
    size_t head_w;        /* (d, H d): column block h is W_h */
    size_t n_dense;       /* end of the dense part */
    size_t item_emb;      /* (N, d) */
    size_t item_bias;     /* (N, H) */
    size_t n_params;
} reco__model_layout;

/* Activations of one block for up to B states; Tq = T except in the last block (Tq = 1). */
typedef struct reco__block_acts {
    float *ln1, *ln1_mean, *ln1_rstd; /* (B, T, d), (B, T), (B, T) */
    float *q;                         /* (B, Tq, d) */
    float *kv;                        /* (B, T, 2d): [K | V] */
    float *att;                       /* (B, n_heads, Tq, T) */
    float *att_out;                   /* (B, Tq, d) */
    float *x_mid;                     /* (B, Tq, d) */
    float *ln2, *ln2_mean, *ln2_rstd; /* (B, Tq, d), (B, Tq), (B, Tq) */
    float *ff_pre, *ff_act;           /* (B, Tq, f) */
    float *x_out;                     /* (B, Tq, d) */
    /* last block only (folded attention, see last_attention_forward in model.c) */
    float *rvec;                      /* (B, n_heads, d): W_k^h q^h */
    float *abar;                      /* (B, n_heads, d): sum_t p_t ln1_t */
    const uint8_t *mask;              /* the workspace's (B, T) key mask */
} reco__block_acts;

struct reco_workspace {
    reco_allocator alloc;
    size_t bytes;
    void *arena;
    int training;        /* also holds the backward buffers */
    /* sizes it was made for */
    size_t max_batch, max_candidates, T, d, n_blocks, n_heads, ffn, n_total_heads;
    uint8_t *mask;       /* (B, T) */
    float *x0;           /* (B, T, d) */
    reco__block_acts blk[RECO__MODEL_MAX_BLOCKS];
    float *u, *lnf_mean, *lnf_rstd; /* (B, d), (B), (B) */
    float *proj;         /* (B, H d): row b, column block h = W_h^T u_b */
    float *cand;         /* (C, d) gathered candidate embeddings */
    float *topn_scores;  /* (TOPN_BLOCK, B) */
    float *heap_s;       /* (B, C) */
    int32_t *heap_i;     /* (B, C) */
    /* backward only */
    float *dx_a, *dx_b;  /* (B, T, d) */
    float *dq;           /* (B, T, d) */
    float *dkv;          /* (B, T, 2d) */
    float *datt_out;     /* (B, T, d) */
    float *dln;          /* (B, T, d) */
    float *dmid;         /* (B, T, d) */
    float *dff;          /* (B, T, f) */
    float *dff2;         /* (B, T, f) */
    float *att_scratch;  /* (B, n_heads, T, T) */
    float *drvec, *dabar;/* (B, n_heads, d) */
    float *dscore;       /* (B, n_heads, T) */
    float *du;           /* (B, d) */
    float *dproj;        /* (B, H d) */
    float *dz;           /* (B, H) */
    float *zbuf;         /* (B, H) */
};

struct reco_model {
    reco_allocator alloc;
    reco_model_options opts;
    reco__model_layout lay;
    reco__blas blas;
    size_t N, d, L, T, nb, nh, ffn, F, U, H;
    float *params;       /* n_params */
    float *grads;        /* n_params; item rows nonzero only where touched */
    float *adam_m, *adam_v;
    uint64_t step;       /* Adam steps taken */
    uint64_t *row_step;  /* (N) last step at which each item row was updated */
    uint8_t *row_touched;/* (N) gradient since the last zero_grad */
    int32_t *touched;    /* list of touched rows */
    size_t n_touched;
    reco_workspace *ws;  /* the model's own, with backward buffers */
};

/* Validates `o` (messages name the option) and fills the layout. */
int reco__model_layout_init(reco__model_layout *lay, const reco_model_options *o);

#endif /* RECO_MODEL_PRIVATE_H */
