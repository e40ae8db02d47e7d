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

/* Knots of the piecewise-linear curves of the session position and elapsed time: the input
 * x >= 0 maps to RECO__CURVE_RES * log2(1 + x / scale), clipped to the last knot. */
#define RECO__CURVE_KNOTS 41
#define RECO__CURVE_RES 4.0f
#define RECO__ELAPSED_SCALE 10.0f

typedef struct reco__model_layout {
    size_t pos_emb;   /* (L + 1, d): history slots then the user slot */
    size_t sig_emb;   /* (F, d) */
    size_t user_tok;  /* (d) */
    size_t user_proj; /* (U, d), only when U > 0 */
    /* version-2 inputs, each present only when its option is on (else count 0) */
    size_t sess_emb;      /* (d): history slots from before the session (position) */
    size_t step_curve;    /* (KNOTS, d): position curve (position) */
    size_t time_curve;    /* (KNOTS, d): elapsed-time curve (elapsed) */
    size_t long_proj;     /* ((F + 1) d, d): pooled long-term history (long_len > 0) */
    size_t long_stat;     /* (F + 1, d): its counts: n / H, then the share of each signal */
    size_t item_dproj;    /* (Di, d): dense item features into the item embedding */
    size_t item_dbias;    /* (Di, H): dense item features into the item biases */
    size_t item_femb;     /* (sum of field sizes, d): categorical field embeddings */
    size_t item_fbias;    /* (sum of field sizes, H): categorical field biases */
    size_t state_w;       /* (d, H): per-head state term u . v_h (state_bias) */
    size_t state_b;       /* (H) */
    size_t field_off[RECO_MODEL_MAX_ITEM_FIELDS]; /* row of field k's value 0 in item_femb */
    size_t n_field_rows;  /* sum of the field sizes */
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
    size_t long_len;
    int item_feats;
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
    /* version-2 inputs */
    float *sbias;        /* (B, H): the state term of each head (state_bias), else zeros */
    float *pool;         /* (B, (F + 1) d): pooled long-term history, then (B, F + 1) stats */
    float *pool_stat;    /* (B, F + 1) */
    float *pool_cnt;     /* (B, F + 1): items in each pool */
    float *cand_bias;    /* (C, H): candidates' biases when items have features */
    float *item_vec;     /* (TOPN_BLOCK, d): effective item embeddings of a block */
    float *dsbias;       /* (B, H) backward of sbias */
    float *dpool;        /* (B, (F + 1) d) */
    float *ivec;         /* (d) one effective embedding (training) */
};

struct reco_model {
    reco_allocator alloc;
    reco_model_options opts;
    reco__model_layout lay;
    reco__blas blas;
    size_t N, d, L, T, nb, nh, ffn, F, U, H;
    size_t Hl, Di, Kc;   /* long_len, item_dense_dim, item_n_fields */
    int has_item_feats;  /* Di > 0 or Kc > 0 */
    float *item_dense;   /* (N, Di) item feature values (data, not parameters) */
    int32_t *item_fields;/* (N, Kc), -1 = unknown */
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

/* reco_model_train_scalar plus the conservative (CQL) penalty of the Q-network's update:
 * see model.c. Gradients accumulate; nothing changes on error. */
int reco__model_train_scalar_cql(double *loss_out, double *penalty_out, float *pred_out,
                                 reco_model *model, const reco_batch *batch,
                                 const int32_t *items, uint32_t head, const float *targets,
                                 const float *weights, float huber_delta, float alpha,
                                 const int32_t *cand, uint32_t n_cand, int shared);

/* Validates `o` (messages name the option) and fills the layout. */
int reco__model_layout_init(reco__model_layout *lay, const reco_model_options *o);

/* Head `dst` = sum_f w[f] * head f over every per-head tensor (projection, item and feature
 * biases, state term), summed in double in head order: the Q head's warm start. */
void reco__model_combine_heads(reco_model *m, size_t dst, const float *w, size_t n_heads);

/* Checkpoint pieces shared by model and Q-network files (lib/model_io.c): the architecture
 * ("arch" u32[8] and, from format 2, "arch2"), and the item feature values. */
struct reco__writer;
struct reco__reader;
int reco__model_write_arch(struct reco__writer *w, const reco_model_options *o);
/* Reads the architecture into the architecture fields of `o` (others untouched); sections of
 * a format-1 file without "arch2" give the version-1 architecture (new inputs off). */
int reco__model_read_arch(struct reco__reader *r, const char *path, reco_model_options *o);
/* Compares the architecture fields of `a` (file) and `b` (model); names the first that
 * differs. */
int reco__model_check_arch(const reco_model_options *file, const reco_model_options *model,
                           const char *path);
int reco__model_write_items(struct reco__writer *w, const reco_model *m);
/* Reads the item feature sections into (N, Di) and (N, Kc) scratch, validated. */
int reco__model_read_items(struct reco__reader *r, const char *path, const reco_model *m,
                           float *dense, int32_t *fields);

#endif /* RECO_MODEL_PRIVATE_H */
