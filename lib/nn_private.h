/* Neural-network layers: forward/backward pairs written by hand (as in llm.c), the building
 * blocks of reco_model (docs/model.md). All tensors are float32, row-major, contiguous unless a
 * row stride is given (in elements). Shapes are stated per function as (rows, cols).
 *
 * Conventions:
 * - `_forward` writes its outputs (overwrites). `_backward` ACCUMULATES (+=) into every
 *   gradient it produces, so gradients of a tensor used twice add up; callers zero them first.
 *   A gradient pointer documented as "may be NULL" is skipped.
 * - Nothing here allocates, locks or records errors (but reco__blas_init, called when a model
 *   is created): sizes are validated once at creation, so these run in the hot loop.
 *   Internal invariants are assert()ed.
 * - Outputs and gradients never overlap inputs (the kernels may assume it).
 * - Dense products go through reco__gemm() (BLIS, row-major, per-call thread count; or, in
 *   deterministic mode, libreco's own fixed-order kernels).
 */
#ifndef RECO_NN_PRIVATE_H
#define RECO_NN_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* Per-handle BLIS threading: number of threads for each GEMM (1 = single-threaded; values
 * below 1 and a NULL reco__blas mean 1). Kept as a plain int here so that blis.h is included
 * only by nn.c. */
typedef struct reco__blas {
    int threads;
    /* Nonzero: every product runs libreco's own fixed-order kernels instead of BLIS, so its
     * bits do not depend on the CPU (the model option `deterministic`). */
    int portable;
} reco__blas;

/* Sets up a model's products: `threads` BLIS threads, or the portable kernels when
 * `deterministic` is nonzero. The environment variable RECO_FORCE_KERNEL=portable|blis
 * overrides `deterministic` (to compare the two paths; docs/determinism.md). Returns
 * RECO_OK, or RECO_EINVAL with a message when RECO_FORCE_KERNEL holds anything else. */
int reco__blas_init(reco__blas *blas, int threads, int deterministic);

/* Largest dimension or stride reco__gemm accepts (BLIS dim_t / inc_t); model creation checks
 * its sizes against it so that BLIS never sees a value that makes it abort. */
#define RECO__GEMM_MAX_DIM ((size_t)INT32_MAX)

/* C (m, n) = alpha * op(A) @ op(B) + beta * C, row-major.
 * op(A) is (m, k): A is (m, k) with row stride lda, or, if trans_a, A is (k, m).
 * op(B) is (k, n): B is (k, n) with row stride ldb, or, if trans_b, B is (n, k).
 * beta == 0 means C is overwritten (NaN in C does not propagate). m, n or k == 0 is allowed
 * (k == 0 scales C by beta). */
void reco__gemm(const reco__blas *blas, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                float alpha, const float *A, size_t lda, const float *B, size_t ldb, float beta,
                float *C, size_t ldc);

/* Linear layer: out (rows, n_out) = inp (rows, n_in) @ w (n_in, n_out) + bias (n_out).
 * Weights are stored (n_in, n_out) so that the forward product is untransposed (BLIS's fast
 * layout). bias may be NULL. inp and out have row strides in_stride >= n_in and
 * out_stride >= n_out. */
void reco__linear_forward(const reco__blas *blas, float *out, size_t out_stride, const float *inp,
                          size_t in_stride, const float *w, const float *bias, size_t rows,
                          size_t n_in, size_t n_out);

/* Backward of reco__linear_forward: dinp += dout @ w^T, dw += inp^T @ dout,
 * dbias += column sums of dout. dinp, dw, dbias may each be NULL. */
void reco__linear_backward(const reco__blas *blas, float *dinp, size_t dinp_stride, float *dw,
                           float *dbias, const float *dout, size_t dout_stride, const float *inp,
                           size_t in_stride, const float *w, size_t rows, size_t n_in,
                           size_t n_out);

/* Layer normalisation over the last dimension, eps = 1e-5:
 * out (rows, d) = (inp - mean) * rstd * gamma + beta; mean and rstd (rows) are saved for the
 * backward pass. */
void reco__layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                             const float *gamma, const float *beta, size_t rows, size_t d);

/* Backward of reco__layernorm_forward. dgamma and dbeta (d) may be NULL. */
void reco__layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *inp, const float *gamma, const float *mean,
                              const float *rstd, size_t rows, size_t d);

/* GELU, tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise. */
void reco__gelu_forward(float *out, const float *inp, size_t n);
void reco__gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* Multi-head scaled dot-product attention with a key padding mask (no causal mask).
 * For each of B sequences: T keys/values, and the LAST Tq positions as queries (Tq <= T;
 * the model's last block uses Tq = 1, only the user slot).
 *   q: (B, Tq, d) rows with stride q_stride (element stride between consecutive rows),
 *   k, v: (B, T, d) rows with strides k_stride, v_stride,
 *   key_mask: (B, T), 1 = valid key, 0 = padding. Each sequence must have >= 1 valid key.
 *   out: (B, Tq, d) contiguous; att: (B, n_heads, Tq, T) softmax probabilities, saved for
 *   backward (exactly 0 at masked keys).
 * d is split into n_heads heads of d / n_heads; scores are scaled by 1/sqrt(d / n_heads). */
void reco__attention_forward(float *out, float *att, const float *q, size_t q_stride,
                             const float *k, size_t k_stride, const float *v, size_t v_stride,
                             const uint8_t *key_mask, size_t B, size_t Tq, size_t T, size_t d,
                             size_t n_heads);

/* Backward of reco__attention_forward: accumulates into dq (B, Tq, d; stride dq_stride),
 * dk and dv (B, T, d; strides dk_stride, dv_stride). `scratch` holds B * n_heads * Tq * T
 * floats (no allocation here). */
void reco__attention_backward(float *dq, size_t dq_stride, float *dk, size_t dk_stride, float *dv,
                              size_t dv_stride, const float *dout, const float *att,
                              const float *q, size_t q_stride, const float *k, size_t k_stride,
                              const float *v, size_t v_stride, size_t B, size_t Tq, size_t T,
                              size_t d, size_t n_heads, float *scratch);

/* Row gather: out (n, d) row i = table (rows, d) row ids[i]. ids must be in range. */
void reco__embedding_gather(float *out, const float *table, const int32_t *ids, size_t n,
                            size_t d);

/* Row scatter-add, the backward of the gather: dtable row ids[i] += dout row i. */
void reco__embedding_scatter_add(float *dtable, const float *dout, const int32_t *ids, size_t n,
                                 size_t d);

/* Binary cross-entropy on logits, numerically stable:
 *   loss_i = weight_i * (softplus(z_i) - y_i z_i); returns sum_i loss_i (double accumulator);
 *   dz_i += scale * weight_i * (sigmoid(z_i) - y_i) when dz is non-NULL.
 * weight may be NULL (all 1). y in [0, 1]. */
double reco__bce_logits(float *dz, const float *z, const float *y, const float *weight, size_t n,
                        float scale);

/* Huber loss with threshold delta on the error e_i = pred_i - target_i:
 *   0.5 e^2 if |e| <= delta, else delta (|e| - 0.5 delta); times weight_i (NULL = 1);
 * returns the sum (double); dpred_i += scale * weight_i * clip(e_i, -delta, delta). */
double reco__huber(float *dpred, const float *pred, const float *target, const float *weight,
                   size_t n, float delta, float scale);

/* Numerically stable sigmoid of one value. */
float reco__sigmoid(float z);

#endif /* RECO_NN_PRIVATE_H */
