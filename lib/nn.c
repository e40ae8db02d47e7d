/* Neural-network layers: hand-written forward/backward pairs (see nn_private.h for shapes and
 * the accumulate-into-gradients convention).
 *
 * Performance notes. The library is built without -march flags and, by default, at -O2, where
 * GCC 12 vectorises only loops whose trip count is a known multiple of the vector width (its
 * "very cheap" cost model) and never reorders a float reduction. The inner kernels below
 * therefore work in blocks of VEC_LANES elements with a fixed-length inner loop and VEC_LANES
 * independent partial sums: GCC turns each block into SSE (or, with -march, AVX) instructions
 * at -O2 as well as at -O3, without -ffast-math. The tail of a row is handled by a scalar loop.
 *
 * tanhf from glibc costs ~23 ns per call and is never vectorised, which would make GELU on a
 * (5376, 256) activation cost several times the FFN's GEMMs; GELU below uses nn_exp(), a
 * branch-free polynomial exp that vectorises (relative error ~2 ulp). */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <blis.h>

#include "detmath_private.h"
#include "error_private.h"
#include "nn_private.h"
#include "vec_private.h"

/* ---- small kernels -------------------------------------------------------------------- */

/* y[i] = a * x[i]; y and x must not overlap. */
static inline void nn_scale_copy(float *restrict y, float a, const float *restrict x, size_t n)
{
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES)
        for (size_t u = 0; u < VEC_LANES; u++)
            y[i + u] = a * x[i + u];
    for (; i < n; i++)
        y[i] = a * x[i];
}

/* sum_i x[i]. */
static inline float nn_sum(const float *restrict x, size_t n)
{
    float acc[VEC_LANES] = {0};
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES)
        for (size_t u = 0; u < VEC_LANES; u++)
            acc[u] += x[i + u];
    float tail = 0.0f;
    for (; i < n; i++)
        tail += x[i];
    return tail + vec_hsum(acc);
}

/* sum_i (x[i] - m)^2. */
static inline float nn_sqdev(const float *restrict x, float m, size_t n)
{
    float acc[VEC_LANES] = {0};
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES)
        for (size_t u = 0; u < VEC_LANES; u++) {
            float t = x[i + u] - m;
            acc[u] += t * t;
        }
    float tail = 0.0f;
    for (; i < n; i++) {
        float t = x[i] - m;
        tail += t * t;
    }
    return tail + vec_hsum(acc);
}

/* exp(y) for y in [-87, 88] (callers clamp), relative error ~1e-7: y = n ln2 + r with
 * |r| <= ln2 / 2 (Cody-Waite split of ln2 so that r is exact), exp(r) by its degree-7 Taylor
 * polynomial (truncation r^8 / 8! < 6e-9), 2^n put into the exponent bits. No branches and no
 * library call, so loops over it vectorise. */
static inline float nn_exp(float y)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693145751953125f;      /* 15 significant bits: n * ln2_hi exact */
    const float ln2_lo = 1.42860682030941723e-6f; /* ln2 - ln2_hi */
    float t = y * log2e;
    /* Round to nearest by adding and removing 1.5 * 2^23 (valid for |t| < 2^22). */
    const float shifter = 12582912.0f;
    float nf = (t + shifter) - shifter;
    float r = (y - nf * ln2_hi) - nf * ln2_lo;
    float p = 1.0f / 5040.0f + r * (1.0f / 40320.0f);
    p = 1.0f / 720.0f + r * p;
    p = 1.0f / 120.0f + r * p;
    p = 1.0f / 24.0f + r * p;
    p = 1.0f / 6.0f + r * p;
    p = 0.5f + r * p;
    p = 1.0f + r * p;
    p = 1.0f + r * p;
    int32_t n = (int32_t)nf;
    uint32_t bits = (uint32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* exp(y) with y clamped to [-87, 87], where nn_exp is valid. The clamp works on the bits of
 * |y|: non-negative floats (and NaN, which becomes 87) order like integers, and an integer min
 * plus copysignf are branch-free, whereas a float compare-select needs fminf (a libm call
 * without -ffast-math) or if-conversion, neither of which GCC vectorises at -O2. */
static inline float nn_exp_clamped(float y)
{
    const float a = fabsf(y), hi = 87.0f;
    int32_t ia, ihi;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ihi, &hi, sizeof ihi);
    ia = ia < ihi ? ia : ihi;
    float ac;
    memcpy(&ac, &ia, sizeof ac);
    return nn_exp(copysignf(ac, y));
}

#define NN_GELU_C 0.7978845608028654f /* sqrt(2 / pi) */
#define NN_GELU_A 0.044715f

/* 0.5 x (1 + tanh(u)) = x sigmoid(2u) = x / (1 + exp(-2u)), u = c (x + a x^3): the documented
 * tanh approximation, written with one exp and one division. Unlike 1 + tanh(u), which
 * cancels for u << 0, this keeps a relative error of a few ulp everywhere. The clamp only acts
 * where the result is x (u > 43) or ~x e^-87 (u < -43). */
static inline float nn_gelu(float x)
{
    const float u = NN_GELU_C * (x + NN_GELU_A * x * x * x);
    return x / (1.0f + nn_exp_clamped(-2.0f * u));
}

/* d/dx [x s] with s = sigmoid(2u): s + 2 x s (1 - s) c (1 + 3 a x^2), and 1 - s = e s with
 * e = exp(-2u) (no cancellation). */
static inline float nn_gelu_grad(float x)
{
    const float x2 = x * x;
    const float e = nn_exp_clamped(-2.0f * NN_GELU_C * (x + NN_GELU_A * x2 * x));
    const float sg = 1.0f / (1.0f + e);
    return sg + 2.0f * x * sg * (e * sg) * NN_GELU_C * (1.0f + 3.0f * NN_GELU_A * x2);
}

/* ---- GEMM ----------------------------------------------------------------------------- */

/* C (m, n) = beta * C, where beta == 0 writes zeros whatever C holds. */
static void nn_scale_matrix(float *C, size_t ldc, size_t m, size_t n, float beta)
{
    for (size_t i = 0; i < m; i++) {
        float *restrict c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, n * sizeof *c);
        else if (beta != 1.0f)
            for (size_t j = 0; j < n; j++)
                c[j] *= beta;
    }
}

/* Up to this many rows (or, for A B^T, columns) a product goes to nn_gemm_thin. */
#define NN_THIN_ROWS 4

/* C (m, n) = alpha A op(B) + beta C for A untransposed, without BLIS: each row of C is a sum
 * of rows of B (B untransposed: axpy over contiguous rows) or a row of dot products (B
 * transposed: one contiguous dot per column). */
RECO__HOT
static void nn_gemm_thin(int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
                         size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    if (trans_b) {
        /* Every entry is a dot product of two contiguous rows. Four rows of A against one row
         * of B at a time: four independent FMA chains instead of one latency-bound chain. */
        const size_t m4 = m - m % 4;
        for (size_t j = 0; m4 > 0 && j < n; j++) {
            const float *b = B + j * ldb;
            size_t i = 0;
            for (; i + 4 <= m4; i += 4) {
                float v[4];
                /* long thin A (a catalog block): keep the next rows on their way */
                if (i + 16 < m)
                    __builtin_prefetch(A + (i + 16) * lda);
                vec_dot4(v, b, A + i * lda, A + (i + 1) * lda, A + (i + 2) * lda,
                         A + (i + 3) * lda, k);
                for (size_t q = 0; q < 4; q++) {
                    float *c = C + (i + q) * ldc + j;
                    *c = beta == 0.0f ? alpha * v[q] : beta * *c + alpha * v[q];
                }
            }
        }
        /* The last m % 4 rows of A (one state's vector): eight rows of B at a time, eight
         * chains and one transposed reduction, the bits of vec_dot. */
        for (size_t i = m4; i < m; i++) {
            const float *a = A + i * lda;
            float *c = C + i * ldc;
            size_t j = 0;
            for (; j + VEC_LANES <= n; j += VEC_LANES) {
                const vec8f v = alpha * vec_dot8_rows(a, B + j * ldb, ldb, k);
                for (size_t q = 0; q < VEC_LANES; q++)
                    c[j + q] = beta == 0.0f ? v[q] : beta * c[j + q] + v[q];
            }
            for (; j < n; j++) {
                const float v = alpha * vec_dot(a, B + j * ldb, k);
                c[j] = beta == 0.0f ? v : beta * c[j] + v;
            }
        }
        return;
    }
    for (size_t i = 0; i < m; i++) {
        const float *a = A + i * lda;
        float *c = C + i * ldc;
        {
            /* 64 columns at a time in registers (eight independent FMA chains, enough to hide
             * their latency), then 32, B streamed once row by row */
            size_t j0 = 0;
            for (; j0 + 8 * VEC_LANES <= n; j0 += 8 * VEC_LANES) {
                vec8f acc[8] = {{0}};
                for (size_t p = 0; p < k; p++) {
                    const float ap = a[p];
                    const float *b = B + p * ldb + j0;
                    /* the weights come from L2 at best: ask for the row eight ahead */
                    if (p + 8 < k) {
                        const float *pf = b + 8 * ldb;
                        __builtin_prefetch(pf);
                        __builtin_prefetch(pf + 16);
                        __builtin_prefetch(pf + 32);
                        __builtin_prefetch(pf + 48);
                    }
#pragma GCC unroll 8
                    for (size_t q = 0; q < 8; q++)
                        acc[q] += ap * vec8_load(b + q * VEC_LANES);
                }
#pragma GCC unroll 8
                for (size_t q = 0; q < 8; q++) {
                    float *cq = c + j0 + q * VEC_LANES;
                    vec8f v = alpha * acc[q];
                    if (beta != 0.0f)
                        v += beta * vec8_load(cq);
                    vec8_store(cq, v);
                }
            }
            for (; j0 + 4 * VEC_LANES <= n; j0 += 4 * VEC_LANES) {
                vec8f c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};
                for (size_t p = 0; p < k; p++) {
                    const float ap = a[p];
                    const float *b = B + p * ldb + j0;
                    c0 += ap * vec8_load(b);
                    c1 += ap * vec8_load(b + VEC_LANES);
                    c2 += ap * vec8_load(b + 2 * VEC_LANES);
                    c3 += ap * vec8_load(b + 3 * VEC_LANES);
                }
                vec8f acc[4] = {c0, c1, c2, c3};
                for (size_t q = 0; q < 4; q++) {
                    float *cq = c + j0 + q * VEC_LANES;
                    vec8f v = alpha * acc[q];
                    if (beta != 0.0f)
                        v += beta * vec8_load(cq);
                    vec8_store(cq, v);
                }
            }
            for (size_t j = j0; j < n; j++) {
                float acc = 0.0f;
                for (size_t p = 0; p < k; p++)
                    acc += a[p] * B[p * ldb + j];
                c[j] = alpha * acc + (beta == 0.0f ? 0.0f : beta * c[j]);
            }
        }
    }
}

/* C (m, n) = alpha A^T B + beta C, A (k, m) with row stride lda, B (k, n) or, if trans_b,
 * (n, k): every entry is summed over p = 0 .. k-1 in that order from 0, then scaled, the
 * order of the scalar loop; blocks of four rows of C by 16 columns keep eight vector
 * accumulators in registers while A and B stream once per block. */
RECO__HOT
static void nn_gemm_tn(int trans_b, size_t m, size_t n, size_t k, float alpha, const float *A,
                       size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    size_t i0 = 0;
    if (!trans_b)
        for (; i0 + 4 <= m; i0 += 4) {
            size_t j0 = 0;
            for (; j0 + 2 * VEC_LANES <= n; j0 += 2 * VEC_LANES) {
                vec8f acc[4][2] = {{{0}}};
                for (size_t p = 0; p < k; p++) {
                    const float *a = A + p * lda + i0;
                    const vec8f b0 = vec8_load(B + p * ldb + j0);
                    const vec8f b1 = vec8_load(B + p * ldb + j0 + VEC_LANES);
#pragma GCC unroll 4
                    for (size_t q = 0; q < 4; q++) {
                        acc[q][0] += a[q] * b0;
                        acc[q][1] += a[q] * b1;
                    }
                }
                for (size_t q = 0; q < 4; q++)
                    for (size_t h = 0; h < 2; h++) {
                        float *c = C + (i0 + q) * ldc + j0 + h * VEC_LANES;
                        vec8f v = alpha * acc[q][h];
                        if (beta != 0.0f)
                            v += beta * vec8_load(c);
                        vec8_store(c, v);
                    }
            }
            for (size_t i = i0; i < i0 + 4; i++)
                for (size_t j = j0; j < n; j++) {
                    float acc = 0.0f;
                    for (size_t p = 0; p < k; p++)
                        acc += A[p * lda + i] * B[p * ldb + j];
                    float *c = C + i * ldc + j;
                    *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
                }
        }
    for (size_t i = i0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (size_t p = 0; p < k; p++)
                acc += A[p * lda + i] * (trans_b ? B[j * ldb + p] : B[p * ldb + j]);
            float *c = C + i * ldc + j;
            *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
        }
}

int reco__blas_init(reco__blas *blas, int threads, int deterministic)
{
    blas->threads = threads;
    blas->portable = deterministic != 0;
    /* read at each creation, not cached: the tests switch it between models */
    const char *force = getenv("RECO_FORCE_KERNEL");
    if (force == NULL || force[0] == '\0')
        return RECO_OK;
    if (strcmp(force, "portable") == 0)
        blas->portable = 1;
    else if (strcmp(force, "blis") == 0)
        blas->portable = 0;
    else
        return reco__error_set(RECO_EINVAL, "RECO_FORCE_KERNEL: '%s' is neither 'portable' "
                               "nor 'blis'", force);
    return RECO_OK;
}

void reco__gemm(const reco__blas *blas, int trans_a, int trans_b, size_t m, size_t n, size_t k,
                float alpha, const float *A, size_t lda, const float *B, size_t ldb, float beta,
                float *C, size_t ldc)
{
    /* Sizes come from validated model dimensions; BLIS would abort on bad ones. */
    assert(m <= RECO__GEMM_MAX_DIM && n <= RECO__GEMM_MAX_DIM && k <= RECO__GEMM_MAX_DIM);
    assert(lda <= RECO__GEMM_MAX_DIM && ldb <= RECO__GEMM_MAX_DIM && ldc <= RECO__GEMM_MAX_DIM);
    assert(lda >= (trans_a ? m : k));
    assert(ldb >= (trans_b ? k : n));
    assert(ldc >= n);

    if (m == 0 || n == 0)
        return;
    /* Without a product, C = beta * C; doing it here keeps A and B unread (they may be NULL
     * when k == 0) and makes beta == 0 an overwrite, as BLAS does. */
    if (k == 0 || alpha == 0.0f) {
        nn_scale_matrix(C, ldc, m, n, beta);
        return;
    }

    /* Thin products (a handful of rows, or of columns) cost BLIS more in call overhead and
     * packing than in arithmetic: serving one state makes ~10 of them per call. Row-vector
     * kernels do these directly. */
    if (!trans_a && (m <= NN_THIN_ROWS || (n <= NN_THIN_ROWS && trans_b))) {
        nn_gemm_thin(trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* Deterministic mode: the same kernels for every shape, whose sums run in an order fixed
     * by the code (docs/determinism.md); BLIS's order depends on the sub-configuration it
     * picks for the CPU. */
    if (blas != NULL && blas->portable) {
        if (trans_a)
            nn_gemm_tn(trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        else
            nn_gemm_thin(trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }

    /* BLIS 0.9 treats beta == 0 as "overwrite C" (it never reads C then: checked on its sup
     * and native paths, 1 and 2 threads, all transposes; test_nn_gemm_beta_zero_overwrites_nan
     * pins it), so C need not be cleared first. */
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads((dim_t)(blas != NULL && blas->threads > 1 ? blas->threads : 1), &rntm);
    /* The typed API takes non-const pointers but only reads A, B, alpha and beta. */
    bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                 trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &alpha,
                 (float *)A, (inc_t)lda, 1, (float *)B, (inc_t)ldb, 1, &beta, C, (inc_t)ldc, 1,
                 NULL, &rntm);
}

/* ---- linear --------------------------------------------------------------------------- */

void reco__linear_forward(const reco__blas *blas, float *out, size_t out_stride, const float *inp,
                          size_t in_stride, const float *w, const float *bias, size_t rows,
                          size_t n_in, size_t n_out)
{
    assert(out_stride >= n_out && in_stride >= n_in);
    float beta = 0.0f;
    if (bias != NULL) {
        /* Seed out with the bias and let the GEMM add to it: one pass over out, not two. */
        for (size_t r = 0; r < rows; r++)
            memcpy(out + r * out_stride, bias, n_out * sizeof *out);
        beta = 1.0f;
    }
    /* (rows, n_in) @ (n_in, n_out) -> (rows, n_out) */
    reco__gemm(blas, 0, 0, rows, n_out, n_in, 1.0f, inp, in_stride, w, n_out, beta, out,
               out_stride);
}

/* Column block of the bias gradient summed in double: the sum runs over every row of the batch
 * (thousands), where float accumulation would lose digits. */
#define NN_COLSUM_BLOCK 128

void reco__linear_backward(const reco__blas *blas, float *dinp, size_t dinp_stride, float *dw,
                           float *dbias, const float *dout, size_t dout_stride, const float *inp,
                           size_t in_stride, const float *w, size_t rows, size_t n_in, size_t n_out)
{
    assert(dout_stride >= n_out && in_stride >= n_in);
    /* dinp (rows, n_in) += dout (rows, n_out) @ w^T, w stored (n_in, n_out) */
    if (dinp != NULL)
        reco__gemm(blas, 0, 1, rows, n_in, n_out, 1.0f, dout, dout_stride, w, n_out, 1.0f, dinp,
                   dinp_stride);
    /* dw (n_in, n_out) += inp^T @ dout, inp stored (rows, n_in) */
    if (dw != NULL)
        reco__gemm(blas, 1, 0, n_in, n_out, rows, 1.0f, inp, in_stride, dout, dout_stride, 1.0f, dw,
                   n_out);
    if (dbias != NULL) {
        for (size_t j0 = 0; j0 < n_out; j0 += NN_COLSUM_BLOCK) {
            size_t nj = n_out - j0 < NN_COLSUM_BLOCK ? n_out - j0 : NN_COLSUM_BLOCK;
            double acc[NN_COLSUM_BLOCK] = {0};
            for (size_t r = 0; r < rows; r++) {
                const float *restrict g = dout + r * dout_stride + j0;
                for (size_t j = 0; j < nj; j++)
                    acc[j] += g[j];
            }
            for (size_t j = 0; j < nj; j++)
                dbias[j0 + j] += (float)acc[j];
        }
    }
}

/* ---- layernorm ------------------------------------------------------------------------ */

#define NN_LN_EPS 1e-5f

/* y = (x - m) s gamma + beta over one row of d. */
static inline void nn_ln_row(float *restrict y, const float *restrict x,
                             const float *restrict gamma, const float *restrict beta, float m,
                             float s, size_t d)
{
    size_t c = 0;
    for (; c + VEC_LANES <= d; c += VEC_LANES)
        for (size_t u = 0; u < VEC_LANES; u++)
            y[c + u] = (x[c + u] - m) * s * gamma[c + u] + beta[c + u];
    for (; c < d; c++)
        y[c] = (x[c] - m) * s * gamma[c] + beta[c];
}

/* dx += s (gamma dy - mg - (x - m) s mgn) over one row of d. */
static inline void nn_ln_row_backward(float *restrict dx, const float *restrict dy,
                                      const float *restrict x, const float *restrict gamma, float m,
                                      float s, float mg, float mgn, size_t d)
{
    size_t c = 0;
    for (; c + VEC_LANES <= d; c += VEC_LANES)
        for (size_t u = 0; u < VEC_LANES; u++)
            dx[c + u] += s * (gamma[c + u] * dy[c + u] - mg - (x[c + u] - m) * s * mgn);
    for (; c < d; c++)
        dx[c] += s * (gamma[c] * dy[c] - mg - (x[c] - m) * s * mgn);
}

RECO__HOT void reco__layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                             const float *gamma, const float *beta, size_t rows, size_t d)
{
    assert(d > 0);
    const float inv_d = 1.0f / (float)d;
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * d;
        /* Two passes (mean, then squared deviations): no cancellation, d is small. */
        float m = nn_sum(x, d) * inv_d;
        float var = nn_sqdev(x, m, d) * inv_d;
        float s = 1.0f / sqrtf(var + NN_LN_EPS);
        nn_ln_row(out + r * d, x, gamma, beta, m, s, d);
        mean[r] = m;
        rstd[r] = s;
    }
}

RECO__HOT void reco__layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *inp, const float *gamma, const float *mean,
                              const float *rstd, size_t rows, size_t d)
{
    assert(d > 0);
    const float inv_d = 1.0f / (float)d;
    /* dinp: with n = (x - mean) rstd and g = gamma * dout,
     * dx = rstd (g - mean(g) - n mean(g n)). */
    for (size_t r = 0; r < rows; r++) {
        const float *x = inp + r * d;
        const float *dy = dout + r * d;
        const float m = mean[r], s = rstd[r];
        float acc_g[VEC_LANES] = {0}, acc_gn[VEC_LANES] = {0};
        float tail_g = 0.0f, tail_gn = 0.0f;
        size_t c = 0;
        for (; c + VEC_LANES <= d; c += VEC_LANES)
            for (size_t u = 0; u < VEC_LANES; u++) {
                float g = gamma[c + u] * dy[c + u];
                acc_g[u] += g;
                acc_gn[u] += g * (x[c + u] - m) * s;
            }
        for (; c < d; c++) {
            float g = gamma[c] * dy[c];
            tail_g += g;
            tail_gn += g * (x[c] - m) * s;
        }
        const float mg = (tail_g + vec_hsum(acc_g)) * inv_d;
        const float mgn = (tail_gn + vec_hsum(acc_gn)) * inv_d;
        nn_ln_row_backward(dinp + r * d, dy, x, gamma, m, s, mg, mgn, d);
    }
    /* dgamma += sum_rows n * dout, dbeta += sum_rows dout: long sums over the batch, in double
     * (a separate pass over column blocks keeps the accumulators on the stack). */
    if (dgamma == NULL && dbeta == NULL)
        return;
    for (size_t c0 = 0; c0 < d; c0 += NN_COLSUM_BLOCK) {
        size_t nc = d - c0 < NN_COLSUM_BLOCK ? d - c0 : NN_COLSUM_BLOCK;
        double acc_gamma[NN_COLSUM_BLOCK] = {0}, acc_beta[NN_COLSUM_BLOCK] = {0};
        for (size_t r = 0; r < rows; r++) {
            const float *restrict x = inp + r * d + c0;
            const float *restrict dy = dout + r * d + c0;
            const float m = mean[r], s = rstd[r];
            for (size_t c = 0; c < nc; c++) {
                acc_gamma[c] += (x[c] - m) * s * dy[c];
                acc_beta[c] += dy[c];
            }
        }
        for (size_t c = 0; c < nc; c++) {
            if (dgamma != NULL)
                dgamma[c0 + c] += (float)acc_gamma[c];
            if (dbeta != NULL)
                dbeta[c0 + c] += (float)acc_beta[c];
        }
    }
}

/* ---- GELU ----------------------------------------------------------------------------- */

/* Blocks go through local arrays: GCC -O2 vectorises a fixed-length loop over locals, while
 * the same loop over the (possibly aliasing) arguments is left scalar (no restrict on the
 * public prototype, and -O2 adds no runtime alias checks); measured 11 -> ~3 ns per element.
 * This also keeps out == inp working. */
/* The vector forms of nn_exp_clamped and GELU for a block of VEC_LANES values: the same
 * formulas, written on vec8f/vec8i so that the bit manipulation of the exponent stays in
 * vector registers (the scalar form, auto-vectorised, round-trips through the stack). */
typedef int32_t nn_vec8i __attribute__((vector_size(VEC_LANES * sizeof(int32_t))));

static inline vec8f nn_vec8_clamp87(vec8f y)
{
    const vec8f hi = {87, 87, 87, 87, 87, 87, 87, 87}, lo = -hi;
    nn_vec8i yi, hii, loi;
    __builtin_memcpy(&yi, &y, sizeof yi);
    __builtin_memcpy(&hii, &hi, sizeof hii);
    __builtin_memcpy(&loi, &lo, sizeof loi);
    /* NaN compares false both ways and so counts as below: e^-87 */
    const nn_vec8i above = y > hi, below = ~(y >= lo);
    yi = (yi & ~above) | (hii & above);
    yi = (yi & ~below) | (loi & below);
    vec8f r;
    __builtin_memcpy(&r, &yi, sizeof r);
    return r;
}

static inline vec8f nn_vec8_exp(vec8f y) /* y in [-87, 87] */
{
    const float shifter = 12582912.0f;
    const vec8f t = y * 1.44269504088896341f;
    const vec8f nf = (t + shifter) - shifter;
    const vec8f r = (y - nf * 0.693145751953125f) - nf * 1.42860682030941723e-6f;
    vec8f p = 1.0f / 5040.0f + r * (1.0f / 40320.0f);
    p = 1.0f / 720.0f + r * p;
    p = 1.0f / 120.0f + r * p;
    p = 1.0f / 24.0f + r * p;
    p = 1.0f / 6.0f + r * p;
    p = 0.5f + r * p;
    p = 1.0f + r * p;
    p = 1.0f + r * p;
    const nn_vec8i n = __builtin_convertvector(nf, nn_vec8i);
    const nn_vec8i bits = (n + 127) << 23;
    vec8f scale;
    __builtin_memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

RECO__HOT void reco__gelu_forward(float *out, const float *inp, size_t n)
{
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES) {
        const vec8f x = vec8_load(inp + i);
        const vec8f u = NN_GELU_C * (x + NN_GELU_A * x * x * x);
        vec8_store(out + i, x / (1.0f + nn_vec8_exp(nn_vec8_clamp87(-2.0f * u))));
    }
    for (; i < n; i++)
        out[i] = nn_gelu(inp[i]);
}

RECO__HOT void reco__gelu_backward(float *dinp, const float *dout, const float *inp, size_t n)
{
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES) {
        const vec8f x = vec8_load(inp + i), x2 = x * x;
        const vec8f e = nn_vec8_exp(nn_vec8_clamp87(-2.0f * NN_GELU_C * (x + NN_GELU_A * x2 * x)));
        const vec8f sg = 1.0f / (1.0f + e);
        const vec8f g = sg + 2.0f * x * sg * (e * sg) * NN_GELU_C * (1.0f + 3.0f * NN_GELU_A * x2);
        vec8_store(dinp + i, vec8_load(dinp + i) + g * vec8_load(dout + i));
    }
    for (; i < n; i++)
        dinp[i] += nn_gelu_grad(inp[i]) * dout[i];
}

/* ---- attention ------------------------------------------------------------------------ */

/* Loops rather than per-(sequence, head) GEMMs. The products are tiny (Tq x T x d / n_heads),
 * so BLIS's per-call overhead (2 calls forward and 4 backward per sequence and head) eats most
 * of its AVX2 advantage. Measured at B = 256, T = 21, d = 64, 2 heads, forward + backward on
 * one core at -O2: loops ~7.7 ms vs GEMMs ~6 ms at Tq = T, but ~0.5 ms vs ~2.2 ms at Tq = 1.
 * And the loops skip masked keys, so padding is never read: NaN or garbage there cannot leak
 * into the output or the gradients, as it would through a GEMM (0 * NaN). */
RECO__HOT void reco__attention_forward(float *out, float *att, const float *q, size_t q_stride,
                             const float *k, size_t k_stride, const float *v, size_t v_stride,
                             const uint8_t *key_mask, size_t B, size_t Tq, size_t T, size_t d,
                             size_t n_heads)
{
    assert(n_heads > 0 && d % n_heads == 0 && Tq <= T);
    assert(q_stride >= d && k_stride >= d && v_stride >= d);
    const size_t hd = d / n_heads;
    const float scale = 1.0f / sqrtf((float)hd);

    for (size_t b = 0; b < B; b++) {
        const uint8_t *mask = key_mask + b * T;
        const float *kb = k + b * T * k_stride;
        const float *vb = v + b * T * v_stride;
        for (size_t h = 0; h < n_heads; h++) {
            const size_t ho = h * hd;
            for (size_t i = 0; i < Tq; i++) {
                const float *qi = q + (b * Tq + i) * q_stride + ho;
                float *restrict a = att + ((b * n_heads + h) * Tq + i) * T;
                float *oi = out + (b * Tq + i) * d + ho;

                /* a (T) = scale * q_i . k_j over valid keys; the max is over those only. */
                float mx = -INFINITY;
                int any = 0, bad = 0;
                for (size_t j = 0; j < T; j++) {
                    if (mask[j]) {
                        float s = scale * vec_dot(qi, kb + j * k_stride + ho, hd);
                        a[j] = s;
                        mx = s > mx ? s : mx;
                        any = 1;
                        bad |= !(fabsf(s) <= FLT_MAX); /* NaN or inf */
                    } else {
                        a[j] = 0.0f;
                    }
                }
                if (!any || bad) {
                    /* No valid key (a caller bug, checked at model level): zeros. A NaN or inf
                     * score (from NaN or overflowing inputs): NaN, so that it reaches the loss
                     * instead of being hidden by the max and the exp's clamp. */
                    const float fill = any ? NAN : 0.0f;
                    for (size_t c = 0; c < hd; c++)
                        oi[c] = fill;
                    for (size_t j = 0; j < T; j++)
                        a[j] = mask[j] ? fill : 0.0f;
                    continue;
                }
                float sum = 0.0f;
                for (size_t j = 0; j < T; j++) {
                    if (mask[j]) {
                        /* s - mx <= 0; the clamp keeps nn_exp in range (exp(-87) ~ 1e-38). */
                        float y = a[j] - mx;
                        float e = nn_exp(y > -87.0f ? y : -87.0f);
                        a[j] = e;
                        sum += e;
                    }
                }
                const float inv = 1.0f / sum;
                /* out_i (hd) = sum_j a_j v_j over valid keys. */
                int first = 1;
                for (size_t j = 0; j < T; j++) {
                    if (!mask[j])
                        continue;
                    a[j] *= inv;
                    const float *vj = vb + j * v_stride + ho;
                    if (first)
                        nn_scale_copy(oi, a[j], vj, hd);
                    else
                        vec_axpy(oi, a[j], vj, hd);
                    first = 0;
                }
            }
        }
    }
}

RECO__HOT
void reco__attention_backward(float *dq, size_t dq_stride, float *dk, size_t dk_stride, float *dv,
                              size_t dv_stride, const float *dout, const float *att, const float *q,
                              size_t q_stride, const float *k, size_t k_stride, const float *v,
                              size_t v_stride, size_t B, size_t Tq, size_t T, size_t d,
                              size_t n_heads, float *scratch)
{
    assert(n_heads > 0 && d % n_heads == 0 && Tq <= T);
    assert(dq_stride >= d && dk_stride >= d && dv_stride >= d);
    const size_t hd = d / n_heads;
    const float scale = 1.0f / sqrtf((float)hd);

    /* There is no mask argument: att is exactly 0 at masked keys (and where exp underflowed,
     * where the gradient is 0 as well), so such pairs are skipped. That keeps padding unread and
     * leaves dk, dv of masked keys untouched. */
    for (size_t b = 0; b < B; b++) {
        const float *kb = k + b * T * k_stride;
        const float *vb = v + b * T * v_stride;
        float *dkb = dk + b * T * dk_stride;
        float *dvb = dv + b * T * dv_stride;
        for (size_t h = 0; h < n_heads; h++) {
            const size_t ho = h * hd;
            for (size_t i = 0; i < Tq; i++) {
                const size_t row = (b * n_heads + h) * Tq + i;
                const float *a = att + row * T;
                float *restrict ds = scratch + row * T;
                const float *go = dout + (b * Tq + i) * d + ho;
                const float *qi = q + (b * Tq + i) * q_stride + ho;
                float *dqi = dq + (b * Tq + i) * dq_stride + ho;

                /* datt_j = dout_i . v_j; dscores_j = a_j (datt_j - sum_j' a_j' datt_j'). */
                float s = 0.0f;
                for (size_t j = 0; j < T; j++) {
                    if (a[j] != 0.0f) {
                        float g = vec_dot(go, vb + j * v_stride + ho, hd);
                        ds[j] = g;
                        s += a[j] * g;
                    } else {
                        ds[j] = 0.0f;
                    }
                }
                for (size_t j = 0; j < T; j++) {
                    if (a[j] == 0.0f)
                        continue;
                    ds[j] = a[j] * (ds[j] - s);
                    const float c = scale * ds[j];
                    vec_axpy(dvb + j * dv_stride + ho, a[j], go, hd); /* dv_j += a_j dout_i */
                    vec_axpy(dkb + j * dk_stride + ho, c, qi, hd);    /* dk_j += c q_i */
                    vec_axpy(dqi, c, kb + j * k_stride + ho, hd);     /* dq_i += c k_j */
                }
            }
        }
    }
}

/* ---- embeddings ----------------------------------------------------------------------- */

RECO__HOT
void reco__embedding_gather(float *out, const float *table, const int32_t *ids, size_t n, size_t d)
{
    for (size_t i = 0; i < n; i++) {
        assert(ids[i] >= 0);
        memcpy(out + i * d, table + (size_t)ids[i] * d, d * sizeof *out);
    }
}

RECO__HOT
void reco__embedding_scatter_add(float *dtable, const float *dout, const int32_t *ids, size_t n,
                                 size_t d)
{
    /* Sequential over i so that repeated ids add up (no race, no reordering). */
    for (size_t i = 0; i < n; i++) {
        assert(ids[i] >= 0);
        vec_axpy(dtable + (size_t)ids[i] * d, 1.0f, dout + i * d, d);
    }
}

/* ---- losses --------------------------------------------------------------------------- */

float reco__sigmoid(float z)
{
    /* exp of a non-positive argument only: no overflow, and 1 - sigmoid keeps its digits. */
    if (z >= 0.0f)
        return 1.0f / (1.0f + reco__expf(-z));
    float e = reco__expf(z);
    return e / (1.0f + e);
}

RECO__HOT
double reco__bce_logits(float *dz, const float *z, const float *y, const float *weight, size_t n,
                        float scale)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float zi = z[i], yi = y[i];
        const float w = weight != NULL ? weight[i] : 1.0f;
        /* softplus(z) = max(z, 0) + log1p(exp(-|z|)): exp never overflows. */
        const double sp = (double)fmaxf(zi, 0.0f) + (double)log1pf(reco__expf(-fabsf(zi)));
        total += (double)w * (sp - (double)yi * (double)zi);
        if (dz != NULL)
            dz[i] += scale * w * (reco__sigmoid(zi) - yi);
    }
    return total;
}

RECO__HOT
double reco__huber(float *dpred, const float *pred, const float *target, const float *weight,
                   size_t n, float delta, float scale)
{
    double total = 0.0;
    const double dd = (double)delta;
    for (size_t i = 0; i < n; i++) {
        const float e = pred[i] - target[i];
        const float w = weight != NULL ? weight[i] : 1.0f;
        const double ae = fabs((double)e);
        const double l = ae <= dd ? 0.5 * ae * ae : dd * (ae - 0.5 * dd);
        total += (double)w * l;
        if (dpred != NULL) {
            const float g = e > delta ? delta : (e < -delta ? -delta : e);
            dpred[i] += scale * w * g;
        }
    }
    return total;
}
