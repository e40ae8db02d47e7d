/* Tests of the neural-network layers (lib/nn.c): reco__gemm against a naive product, every
 * forward against a naive double-precision reference, and every backward against central
 * finite differences of a scalar loss, plus the accumulate-into-gradients convention and the
 * key padding mask's guarantees. Links the library's objects to reach the reco__ functions.
 *
 * Sizes are small and deliberately not multiples of 8, so that both the 8-wide blocks and the
 * scalar tails of the kernels run. Inputs come from reco_rng with fixed seeds.
 *
 * Gradient checks. For a layer y = f(x) the loss is L = sum(y * R) for a fixed random R (so
 * dL/dy = R); the backward gives the analytic gradient a, and the numerical one is
 * n = (L(x + h) - L(x - h)) / (x_+ - x_-), with x_+ = fl(x + h), x_- = fl(x - h) the float
 * inputs actually used, the forward in float and L summed in double. The forward's float
 * rounding (~6e-8 relative per output) divided by 2h leaves a noise of ~3e-5 * (1e-3 / h)
 * (times the number of outputs one input touches, in quadrature) in n. The step h is 1e-3
 * times max(1, |x|), except for layernorm and attention: normalising and the softmax round
 * each output several times (their loss carries ~1e-6 relative noise; measured: the error
 * falls as 1/h from h = 1e-3 to 3e-2), so they use 1e-2, whose truncation error
 * h^2 |f'''| / 6 ~ 2e-5 is still below that noise. Bounds:
 * - the error over the whole tensor, ||a - n|| / ||n||, must be below 1e-3;
 * - every entry must have |a - n| / max(|a| + |n|, floor) below 1e-2, with
 *   floor = max(1e-3, 1e-2 * max|n|): entries smaller than 1% of the largest are dominated by
 *   that noise, so only their absolute error (1e-4 of the largest) is bounded.
 * A wrong term in a backward (a missing scale, a dropped sum) gives errors of order 1. */
#include "test_common.h"
#include "nn_private.h"

#include <math.h>

/* ---- helpers ---------------------------------------------------------------------------- */

/* Buffers of the running test, freed by teardown even when an assertion fails. */
#define MAX_BUFS 64
static void *bufs[MAX_BUFS];
static size_t n_bufs;

static int teardown_bufs(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_bufs; i++)
        free(bufs[i]);
    n_bufs = 0;
    return 0;
}

static float *buf(size_t n)
{
    assert_true(n_bufs < MAX_BUFS);
    float *p = calloc(n > 0 ? n : 1, sizeof *p);
    assert_non_null(p);
    bufs[n_bufs++] = p;
    return p;
}

static float *buf_copy(const float *src, size_t n)
{
    float *p = buf(n);
    memcpy(p, src, n * sizeof *p);
    return p;
}

static float *randn(reco_rng *rng, size_t n, float scale)
{
    float *p = buf(n);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (float)reco_rng_normal(rng);
    return p;
}

static float *uniform(reco_rng *rng, size_t n, float lo, float hi)
{
    float *p = buf(n);
    for (size_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * (float)reco_rng_uniform(rng);
    return p;
}

static float *filled(size_t n, float value)
{
    float *p = buf(n);
    for (size_t i = 0; i < n; i++)
        p[i] = value;
    return p;
}

/* sum over a (rows, cols) matrix with row stride `stride` of out * R, in double. */
static double loss_dot(const float *out, const float *R, size_t rows, size_t cols, size_t stride)
{
    double s = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            s += (double)out[r * stride + c] * (double)R[r * stride + c];
    return s;
}

static double max_abs(const float *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)x[i]));
    return m;
}

typedef double (*loss_fn)(void *ctx);

#define GRAD_NORM_BOUND 1e-3
#define GRAD_ENTRY_BOUND 1e-2

/* Checks the analytic gradient `an` (rows, cols; stride as) of loss(ctx) with respect to x
 * (rows, cols; stride xs) by central differences with step h_rel * max(1, |x|). Prints and
 * returns the per-entry error; asserts both bounds (see the top of the file). */
static double grad_check(const char *what, float *x, size_t rows, size_t cols, size_t xs,
                         const float *an, size_t as, loss_fn loss, void *ctx, float h_rel)
{
    const size_t n = rows * cols;
    double *num = calloc(n, sizeof *num);
    assert_non_null(num);
    double max_num = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            float *xp = &x[r * xs + c];
            const float x0 = *xp;
            const float h = h_rel * fmaxf(1.0f, fabsf(x0));
            const float hi = x0 + h, lo = x0 - h;
            *xp = hi;
            const double lp = loss(ctx);
            *xp = lo;
            const double lm = loss(ctx);
            *xp = x0;
            num[r * cols + c] = (lp - lm) / ((double)hi - (double)lo);
            max_num = fmax(max_num, fabs(num[r * cols + c]));
        }
    const double floor_ = fmax(1e-3, 1e-2 * max_num);
    double max_rel = 0.0, max_rel_strict = 0.0, diff2 = 0.0, num2 = 0.0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            const double a = an[r * as + c], nm = num[r * cols + c];
            const double err = fabs(a - nm);
            max_rel = fmax(max_rel, err / fmax(fabs(a) + fabs(nm), floor_));
            max_rel_strict = fmax(max_rel_strict, err / fmax(fabs(a) + fabs(nm), 1e-3));
            diff2 += err * err;
            num2 += nm * nm;
        }
    free(num);
    const double norm_rel = num2 > 0.0 ? sqrt(diff2 / num2) : sqrt(diff2);
    print_message("grad %-28s entry %.2e (floor 1e-3 only: %.2e)  norm %.2e\n", what, max_rel,
                  max_rel_strict, norm_rel);
    if (norm_rel >= GRAD_NORM_BOUND || max_rel >= GRAD_ENTRY_BOUND)
        fail_msg("%s: gradient error entry %.3e norm %.3e", what, max_rel, norm_rel);
    return max_rel;
}

/* ---- GEMM ------------------------------------------------------------------------------- */

/* C = alpha op(A) op(B) + beta C in double; beta == 0 ignores C. */
static void naive_gemm(double *out, int ta, int tb, size_t m, size_t n, size_t k, double alpha,
                       const float *A, size_t lda, const float *B, size_t ldb, double beta,
                       const float *C, size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t p = 0; p < k; p++) {
                double a = ta ? A[p * lda + i] : A[i * lda + p];
                double b = tb ? B[j * ldb + p] : B[p * ldb + j];
                s += a * b;
            }
            out[i * n + j] = alpha * s + (beta != 0.0 ? beta * (double)C[i * ldc + j] : 0.0);
        }
}

/* Runs one product with padded strides and compares with naive_gemm; the padding of C must
 * stay untouched. */
static void check_gemm(reco_rng *rng, int threads, int ta, int tb, size_t m, size_t n, size_t k,
                       float alpha, float beta, int nan_c, int portable)
{
    const size_t pad = 3;
    const size_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    const size_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    const size_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
    float *A = randn(rng, a_rows * lda, 1.0f);
    float *B = randn(rng, b_rows * ldb, 1.0f);
    float *C = randn(rng, m * ldc, 1.0f);
    if (nan_c)
        for (size_t i = 0; i < m * ldc; i++)
            C[i] = NAN;
    for (size_t i = 0; i < m; i++)
        for (size_t j = n; j < ldc; j++)
            C[i * ldc + j] = 1234.5f; /* padding sentinel */
    double *ref = calloc(m * n + 1, sizeof *ref);
    assert_non_null(ref);
    naive_gemm(ref, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    reco__blas blas = {threads, portable};
    reco__gemm(&blas, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double r = ref[i * n + j], c = C[i * ldc + j];
            /* float products of k terms of size ~1: error ~ sqrt(k) * 6e-8 * |terms| */
            if (!(fabs(c - r) <= 1e-5 * (1.0 + sqrt((double)k) + fabs(r))))
                fail_msg("gemm%s ta=%d tb=%d %zux%zux%zu C[%zu,%zu] = %g, want %g",
                         portable ? " (portable)" : "", ta, tb, m, n, k, i, j, c, r);
        }
        for (size_t j = n; j < ldc; j++)
            assert_true(C[i * ldc + j] == 1234.5f);
    }
    free(ref);
    teardown_bufs(NULL);
}

static void test_nn_gemm_matches_naive(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 1, 0);
    const size_t sizes[][3] = {{1, 1, 1}, {5, 7, 3}, {17, 9, 33}, {64, 64, 64}, {33, 70, 129}};
    for (int portable = 0; portable < 2; portable++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++) {
                    const size_t *z = sizes[s];
                    check_gemm(&rng, 1, ta, tb, z[0], z[1], z[2], 0.75f, -0.5f, 0, portable);
                    check_gemm(&rng, 1, ta, tb, z[0], z[1], z[2], 1.0f, 1.0f, 0, portable);
                }
}

static void test_nn_gemm_beta_zero_overwrites_nan(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 2, 0);
    /* Small sizes take BLIS's "sup" path, large ones the packed one; both must overwrite. */
    const size_t sizes[][3] = {{3, 4, 5}, {40, 30, 20}, {150, 130, 170}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int threads = 1; threads <= 3; threads++)
                    check_gemm(&rng, threads < 3 ? threads : 1, ta, tb, sizes[s][0], sizes[s][1],
                               sizes[s][2], 1.25f, 0.0f, 1, threads == 3);
    /* alpha == 0 never reads A or B: C = beta C, and beta == 0 clears NaN. */
    float A[4] = {NAN, NAN, NAN, NAN}, C[4] = {NAN, 1.0f, 2.0f, 3.0f};
    reco__gemm(NULL, 0, 0, 2, 2, 2, 0.0f, A, 2, A, 2, 0.0f, C, 2);
    for (size_t i = 0; i < 4; i++)
        assert_true(C[i] == 0.0f);
    float D[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    reco__gemm(NULL, 0, 0, 2, 2, 2, 0.0f, A, 2, A, 2, 0.5f, D, 2);
    assert_float_equal(D[3], 2.0f, 0.0f);
}

static void test_nn_gemm_empty_dimensions(void **state)
{
    (void)state;
    float C[6] = {1, 2, 3, 4, 5, 6};
    const float before[6] = {1, 2, 3, 4, 5, 6};
    /* m == 0 or n == 0: nothing is written (C's only "row" is untouched). */
    reco__gemm(NULL, 0, 0, 0, 3, 2, 1.0f, NULL, 2, NULL, 3, 0.0f, C, 3);
    reco__gemm(NULL, 1, 1, 2, 0, 2, 1.0f, NULL, 2, NULL, 2, 0.0f, C, 3);
    assert_memory_equal(C, before, sizeof C);
    /* k == 0: C = beta C, A and B are not read (NULL allowed). */
    reco__gemm(NULL, 0, 0, 2, 2, 0, 1.0f, NULL, 0, NULL, 2, 0.5f, C, 3);
    const float half[6] = {0.5f, 1.0f, 3, 2.0f, 2.5f, 6};
    assert_memory_equal(C, half, sizeof C);
    C[0] = NAN;
    reco__gemm(NULL, 1, 0, 2, 2, 0, 1.0f, NULL, 2, NULL, 2, 0.0f, C, 3);
    const float zeroed[6] = {0, 0, 3, 0, 0, 6};
    assert_memory_equal(C, zeroed, sizeof C);
}

static void test_nn_gemm_threads_agree(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 3, 0);
    const size_t m = 300, n = 200, k = 250;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *A = randn(&rng, m * k, 1.0f), *B = randn(&rng, k * n, 1.0f);
            float *C1 = buf(m * n), *C2 = buf(m * n);
            reco__blas one = {1, 0}, two = {2, 0};
            reco__gemm(&one, ta, tb, m, n, k, 1.0f, A, ta ? m : k, B, tb ? k : n, 0.0f, C1, n);
            reco__gemm(&two, ta, tb, m, n, k, 1.0f, A, ta ? m : k, B, tb ? k : n, 0.0f, C2, n);
            for (size_t i = 0; i < m * n; i++)
                if (!(fabsf(C1[i] - C2[i]) <= 1e-5f * fmaxf(1.0f, fabsf(C1[i]))))
                    fail_msg("threads disagree at %zu: %g vs %g", i, C1[i], C2[i]);
            teardown_bufs(NULL);
        }
}

/* The portable kernels' sums in the order docs/determinism.md states, written out in scalar
 * float: op(B) untransposed, each entry summed over p = 0 .. k-1 from 0; B transposed, the
 * order of vec_dot (eight lane sums over the blocks of eight, the lanes added pairwise
 * ((0+4) + (1+5)) + ((2+6) + (3+7)), the tail's sum first). */
static float portable_entry(int ta, int tb, size_t i, size_t j, size_t k, const float *A,
                            size_t lda, const float *B, size_t ldb)
{
    if (!tb || ta) {
        float acc = 0.0f;
        for (size_t p = 0; p < k; p++)
            acc += (ta ? A[p * lda + i] : A[i * lda + p]) * (tb ? B[j * ldb + p] : B[p * ldb + j]);
        return acc;
    }
    float lane[8] = {0};
    size_t p = 0;
    for (; p + 8 <= k; p += 8)
        for (size_t q = 0; q < 8; q++)
            lane[q] += A[i * lda + p + q] * B[j * ldb + p + q];
    float tail = 0.0f;
    for (; p < k; p++)
        tail += A[i * lda + p] * B[j * ldb + p];
    return tail + (((lane[0] + lane[4]) + (lane[1] + lane[5])) +
                   ((lane[2] + lane[6]) + (lane[3] + lane[7])));
}

/* Deterministic mode pins every entry's bits to the documented order, whatever the shape
 * (thin or not), the blocking or the vector width the CPU gives the kernel. */
static void test_nn_gemm_portable_order_is_fixed(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 4, 0);
    const size_t sizes[][3] = {{1, 9, 13}, {3, 70, 21}, {7, 5, 3}, {37, 70, 129}, {64, 3, 64},
                               {130, 66, 40}};
    const reco__blas det = {1, 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                const size_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
                const size_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2;
                float *A = randn(&rng, (ta ? k : m) * lda, 1.0f);
                float *B = randn(&rng, (tb ? n : k) * ldb, 1.0f);
                float *C = randn(&rng, m * n, 1.0f), *C0 = buf(m * n);
                memcpy(C0, C, m * n * sizeof *C);
                reco__gemm(&det, ta, tb, m, n, k, 0.5f, A, lda, B, ldb, 2.0f, C, n);
                for (size_t i = 0; i < m; i++)
                    for (size_t j = 0; j < n; j++) {
                        const float want = 0.5f * portable_entry(ta, tb, i, j, k, A, lda, B, ldb) +
                                           2.0f * C0[i * n + j];
                        if (memcmp(&want, &C[i * n + j], sizeof want) != 0)
                            fail_msg("portable ta=%d tb=%d %zux%zux%zu C[%zu,%zu] = %a, the "
                                     "documented order gives %a", ta, tb, m, n, k, i, j,
                                     C[i * n + j], want);
                    }
                teardown_bufs(NULL);
            }
}

/* RECO_FORCE_KERNEL picks the path over the deterministic flag; anything else is refused. */
static void test_nn_blas_init_force_kernel(void **state)
{
    (void)state;
    reco__blas b;
    unsetenv("RECO_FORCE_KERNEL");
    assert_int_equal(reco__blas_init(&b, 2, 0), RECO_OK);
    assert_int_equal(b.portable, 0);
    assert_int_equal(b.threads, 2);
    assert_int_equal(reco__blas_init(&b, 1, 7), RECO_OK);
    assert_int_equal(b.portable, 1);
    setenv("RECO_FORCE_KERNEL", "portable", 1);
    assert_int_equal(reco__blas_init(&b, 1, 0), RECO_OK);
    assert_int_equal(b.portable, 1);
    setenv("RECO_FORCE_KERNEL", "blis", 1);
    assert_int_equal(reco__blas_init(&b, 1, 1), RECO_OK);
    assert_int_equal(b.portable, 0);
    setenv("RECO_FORCE_KERNEL", "fast", 1);
    assert_reco_error(reco__blas_init(&b, 1, 1), RECO_EINVAL,
                      "RECO_FORCE_KERNEL: 'fast' is neither 'portable' nor 'blis'");
    unsetenv("RECO_FORCE_KERNEL");
}

/* ---- linear ----------------------------------------------------------------------------- */

typedef struct linear_ctx {
    reco__blas blas;
    float *out, *inp, *w, *bias, *R;
    size_t out_stride, in_stride, rows, n_in, n_out;
} linear_ctx;

static double linear_loss(void *p)
{
    linear_ctx *c = p;
    reco__linear_forward(&c->blas, c->out, c->out_stride, c->inp, c->in_stride, c->w, c->bias,
                         c->rows, c->n_in, c->n_out);
    return loss_dot(c->out, c->R, c->rows, c->n_out, c->out_stride);
}

static linear_ctx make_linear(reco_rng *rng, size_t rows, size_t n_in, size_t n_out, int bias)
{
    linear_ctx c = {{1, 0}, NULL, NULL, NULL, NULL, NULL, n_out + 2, n_in + 5, rows, n_in, n_out};
    c.inp = randn(rng, rows * c.in_stride, 1.0f);
    c.w = randn(rng, n_in * n_out, 0.5f);
    c.bias = bias ? randn(rng, n_out, 1.0f) : NULL;
    c.out = filled(rows * c.out_stride, 777.0f);
    c.R = randn(rng, rows * c.out_stride, 1.0f);
    return c;
}

static void test_nn_linear_forward_matches_naive(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 10, 0);
    for (int bias = 0; bias < 2; bias++) {
        linear_ctx c = make_linear(&rng, 11, 13, 9, bias);
        linear_loss(&c);
        for (size_t r = 0; r < c.rows; r++) {
            for (size_t j = 0; j < c.n_out; j++) {
                double s = bias ? c.bias[j] : 0.0;
                for (size_t i = 0; i < c.n_in; i++)
                    s += (double)c.inp[r * c.in_stride + i] * c.w[i * c.n_out + j];
                assert_float_equal(c.out[r * c.out_stride + j], s, 1e-5);
            }
            for (size_t j = c.n_out; j < c.out_stride; j++)
                assert_true(c.out[r * c.out_stride + j] == 777.0f); /* padding untouched */
        }
    }
}

static void test_nn_linear_backward_gradcheck(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 11, 0);
    linear_ctx c = make_linear(&rng, 7, 10, 9, 1);
    const size_t dinp_stride = c.n_in + 1;
    float *dinp = filled(c.rows * dinp_stride, 0.0f), *dw = buf(c.n_in * c.n_out),
          *dbias = buf(c.n_out);
    for (size_t r = 0; r < c.rows; r++)
        dinp[r * dinp_stride + c.n_in] = 55.0f; /* padding sentinel */
    reco__linear_backward(&c.blas, dinp, dinp_stride, dw, dbias, c.R, c.out_stride, c.inp,
                          c.in_stride, c.w, c.rows, c.n_in, c.n_out);
    for (size_t r = 0; r < c.rows; r++)
        assert_true(dinp[r * dinp_stride + c.n_in] == 55.0f);
    grad_check("linear dinp", c.inp, c.rows, c.n_in, c.in_stride, dinp, dinp_stride, linear_loss,
               &c, 1e-3f);
    grad_check("linear dw", c.w, c.n_in, c.n_out, c.n_out, dw, c.n_out, linear_loss, &c, 1e-3f);
    grad_check("linear dbias", c.bias, 1, c.n_out, c.n_out, dbias, c.n_out, linear_loss, &c, 1e-3f);
    /* Each gradient may be NULL on its own. */
    float *dw2 = buf(c.n_in * c.n_out);
    reco__linear_backward(&c.blas, NULL, 0, dw2, NULL, c.R, c.out_stride, c.inp, c.in_stride, c.w,
                          c.rows, c.n_in, c.n_out);
    assert_memory_equal(dw, dw2, c.n_in * c.n_out * sizeof *dw);
}

/* ---- layernorm -------------------------------------------------------------------------- */

typedef struct ln_ctx {
    float *out, *mean, *rstd, *inp, *gamma, *beta, *R;
    size_t rows, d;
} ln_ctx;

static double ln_loss(void *p)
{
    ln_ctx *c = p;
    reco__layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->gamma, c->beta, c->rows, c->d);
    return loss_dot(c->out, c->R, c->rows, c->d, c->d);
}

static ln_ctx make_ln(reco_rng *rng, size_t rows, size_t d)
{
    ln_ctx c = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, rows, d};
    c.out = buf(rows * d);
    c.mean = buf(rows);
    c.rstd = buf(rows);
    c.inp = randn(rng, rows * d, 2.0f);
    for (size_t i = 0; i < rows * d; i++)
        c.inp[i] += 3.0f; /* an offset, so that subtracting the mean matters */
    c.gamma = uniform(rng, d, 0.5f, 1.5f);
    c.beta = randn(rng, d, 0.5f);
    c.R = randn(rng, rows * d, 1.0f);
    return c;
}

static void test_nn_layernorm_forward_matches_naive(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 20, 0);
    ln_ctx c = make_ln(&rng, 6, 21);
    ln_loss(&c);
    for (size_t r = 0; r < c.rows; r++) {
        const float *x = c.inp + r * c.d;
        double m = 0.0, v = 0.0;
        for (size_t i = 0; i < c.d; i++)
            m += x[i];
        m /= (double)c.d;
        for (size_t i = 0; i < c.d; i++)
            v += (x[i] - m) * (x[i] - m);
        v /= (double)c.d;
        const double rs = 1.0 / sqrt(v + 1e-5);
        assert_float_equal(c.mean[r], m, 1e-5);
        assert_float_equal(c.rstd[r], rs, 1e-5 * rs);
        for (size_t i = 0; i < c.d; i++)
            assert_float_equal(c.out[r * c.d + i], (x[i] - m) * rs * c.gamma[i] + c.beta[i], 1e-5);
    }
    /* Without the affine part each row has mean 0 and variance 1 (up to eps = 1e-5). */
    for (size_t i = 0; i < c.d; i++) {
        c.gamma[i] = 1.0f;
        c.beta[i] = 0.0f;
    }
    ln_loss(&c);
    for (size_t r = 0; r < c.rows; r++) {
        double m = 0.0, v = 0.0;
        for (size_t i = 0; i < c.d; i++)
            m += c.out[r * c.d + i];
        m /= (double)c.d;
        for (size_t i = 0; i < c.d; i++)
            v += (c.out[r * c.d + i] - m) * (c.out[r * c.d + i] - m);
        v /= (double)c.d;
        assert_float_equal(m, 0.0, 1e-6);
        assert_float_equal(v, 1.0, 1e-4);
    }
}

static void test_nn_layernorm_backward_gradcheck(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 21, 0);
    ln_ctx c = make_ln(&rng, 5, 19);
    ln_loss(&c);
    float *dinp = buf(c.rows * c.d), *dgamma = buf(c.d), *dbeta = buf(c.d);
    reco__layernorm_backward(dinp, dgamma, dbeta, c.R, c.inp, c.gamma, c.mean, c.rstd, c.rows, c.d);
    /* The inputs have scale ~3, so the step is relative to that. */
    grad_check("layernorm dinp", c.inp, c.rows, c.d, c.d, dinp, c.d, ln_loss, &c, 1e-2f);
    grad_check("layernorm dgamma", c.gamma, 1, c.d, c.d, dgamma, c.d, ln_loss, &c, 1e-2f);
    grad_check("layernorm dbeta", c.beta, 1, c.d, c.d, dbeta, c.d, ln_loss, &c, 1e-2f);
}

/* ---- GELU ------------------------------------------------------------------------------- */

static double gelu_ref(double x)
{
    return 0.5 * x * (1.0 + tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)));
}

typedef struct gelu_ctx {
    float *out, *inp, *R;
    size_t n;
} gelu_ctx;

static double gelu_loss(void *p)
{
    gelu_ctx *c = p;
    reco__gelu_forward(c->out, c->inp, c->n);
    return loss_dot(c->out, c->R, 1, c->n, c->n);
}

static void test_nn_gelu_forward_values(void **state)
{
    (void)state;
    float x[3] = {0.0f, 1.0f, -1.0f}, y[3];
    reco__gelu_forward(y, x, 3);
    assert_true(y[0] == 0.0f);
    assert_float_equal(y[1], 0.841192, 1e-6);
    assert_float_equal(y[2], -0.158808, 1e-6);
    /* A sweep over [-12, 12] (both saturated ends) against the double formula. */
    enum { N = 2401 };
    float *in = buf(N), *out = buf(N);
    for (size_t i = 0; i < N; i++)
        in[i] = -12.0f + 0.01f * (float)i;
    reco__gelu_forward(out, in, N);
    double worst = 0.0;
    for (size_t i = 0; i < N; i++) {
        double r = gelu_ref(in[i]);
        /* tanh is approximated to ~5e-8 absolute, so the error scales with |x|. */
        double err = fabs(out[i] - r) / (1.0 + fabs(r));
        worst = fmax(worst, err);
    }
    print_message("gelu max error / (1 + |gelu|) over [-12, 12]: %.2e\n", worst);
    assert_true(worst < 3e-7);
    float big[2] = {INFINITY, 50.0f}, ybig[2];
    reco__gelu_forward(ybig, big, 2);
    assert_true(isinf(ybig[0]) && ybig[0] > 0.0f);
    assert_true(ybig[1] == 50.0f);
}

static void test_nn_gelu_backward_gradcheck(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 30, 0);
    gelu_ctx c = {NULL, NULL, NULL, 45};
    c.inp = uniform(&rng, c.n, -4.0f, 4.0f);
    c.inp[0] = 0.0f;
    c.inp[1] = 1e-4f;
    c.out = buf(c.n);
    c.R = randn(&rng, c.n, 1.0f);
    float *dinp = buf(c.n);
    reco__gelu_backward(dinp, c.R, c.inp, c.n);
    grad_check("gelu dinp", c.inp, 1, c.n, c.n, dinp, c.n, gelu_loss, &c, 1e-3f);
}

/* ---- attention -------------------------------------------------------------------------- */

typedef struct att_ctx {
    float *out, *att, *q, *k, *v, *R;
    uint8_t *mask;
    size_t qs, ks, vs, B, Tq, T, d, nh;
} att_ctx;

static double att_loss(void *p)
{
    att_ctx *c = p;
    reco__attention_forward(c->out, c->att, c->q, c->qs, c->k, c->ks, c->v, c->vs, c->mask, c->B,
                            c->Tq, c->T, c->d, c->nh);
    return loss_dot(c->out, c->R, c->B * c->Tq, c->d, c->d);
}

/* B = 3 sequences of T = 7 keys, d = 24 in 2 heads of 12 (one 8-block plus a tail of 4):
 * sequence 0 has no padding, sequence 1 has its first 3 keys masked, sequence 2 only its last
 * key valid. q, k, v have row strides larger than d. */
static att_ctx make_att(reco_rng *rng, size_t Tq)
{
    att_ctx c = {0};
    c.B = 3;
    c.T = 7;
    c.Tq = Tq;
    c.d = 24;
    c.nh = 2;
    c.qs = c.d + 3;
    c.ks = c.d + 5;
    c.vs = c.d + 1;
    c.q = randn(rng, c.B * c.Tq * c.qs, 1.0f);
    c.k = randn(rng, c.B * c.T * c.ks, 1.0f);
    c.v = randn(rng, c.B * c.T * c.vs, 1.0f);
    c.out = buf(c.B * c.Tq * c.d);
    c.att = buf(c.B * c.nh * c.Tq * c.T);
    c.R = randn(rng, c.B * c.Tq * c.d, 1.0f);
    c.mask = (uint8_t *)buf(c.B * c.T); /* float-sized, more than enough */
    for (size_t b = 0; b < c.B; b++)
        for (size_t j = 0; j < c.T; j++)
            c.mask[b * c.T + j] = (uint8_t)(b == 0 || (b == 1 && j >= 3) || j == c.T - 1);
    return c;
}

static void test_nn_attention_forward_matches_naive(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 40, 0);
    const size_t tqs[3] = {1, 4, 7};
    for (size_t t = 0; t < 3; t++) {
        att_ctx c = make_att(&rng, tqs[t]);
        att_loss(&c);
        const size_t hd = c.d / c.nh;
        for (size_t b = 0; b < c.B; b++)
            for (size_t h = 0; h < c.nh; h++)
                for (size_t i = 0; i < c.Tq; i++) {
                    const float *qi = c.q + (b * c.Tq + i) * c.qs + h * hd;
                    const float *a = c.att + ((b * c.nh + h) * c.Tq + i) * c.T;
                    double s[16], mx = -INFINITY, z = 0.0, psum = 0.0;
                    for (size_t j = 0; j < c.T; j++) {
                        if (!c.mask[b * c.T + j])
                            continue;
                        double dot = 0.0;
                        for (size_t e = 0; e < hd; e++)
                            dot += (double)qi[e] * c.k[(b * c.T + j) * c.ks + h * hd + e];
                        s[j] = dot / sqrt((double)hd);
                        mx = fmax(mx, s[j]);
                    }
                    for (size_t j = 0; j < c.T; j++)
                        if (c.mask[b * c.T + j])
                            z += exp(s[j] - mx);
                    for (size_t j = 0; j < c.T; j++) {
                        if (!c.mask[b * c.T + j]) {
                            assert_true(a[j] == 0.0f); /* exactly 0 at masked keys */
                            continue;
                        }
                        double pj = exp(s[j] - mx) / z;
                        assert_float_equal(a[j], pj, 1e-6);
                        psum += a[j];
                    }
                    assert_float_equal(psum, 1.0, 1e-6);
                    for (size_t e = 0; e < hd; e++) {
                        double o = 0.0;
                        for (size_t j = 0; j < c.T; j++)
                            if (c.mask[b * c.T + j])
                                o += exp(s[j] - mx) / z * c.v[(b * c.T + j) * c.vs + h * hd + e];
                        assert_float_equal(c.out[(b * c.Tq + i) * c.d + h * hd + e], o, 1e-5);
                    }
                }
        /* A NaN in a query reaches that query's output (for its head) and nothing else. */
        c.q[c.Tq * c.qs + 1] = NAN; /* sequence 1, query 0, head 0 */
        float *before = buf_copy(c.out, c.B * c.Tq * c.d);
        att_loss(&c);
        for (size_t r = 0; r < c.B * c.Tq; r++)
            for (size_t e = 0; e < c.d; e++) {
                const float o = c.out[r * c.d + e];
                if (r == c.Tq && e < hd)
                    assert_true(isnan(o));
                else
                    assert_true(o == before[r * c.d + e]);
            }
        teardown_bufs(NULL);
    }
}

/* Padding must not matter: changing k and v at masked keys (even to NaN) leaves out and att
 * bit-for-bit unchanged, and the backward gives the same dq and never touches dk, dv at those
 * keys. */
static void test_nn_attention_padding_is_ignored(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 41, 0);
    const size_t tqs[2] = {1, 7};
    for (size_t t = 0; t < 2; t++) {
        att_ctx c = make_att(&rng, tqs[t]);
        const size_t n_out = c.B * c.Tq * c.d, n_att = c.B * c.nh * c.Tq * c.T;
        const size_t nq = c.B * c.Tq * c.qs, nk = c.B * c.T * c.ks, nv = c.B * c.T * c.vs;
        att_loss(&c);
        float *out0 = buf_copy(c.out, n_out), *att0 = buf_copy(c.att, n_att);
        float *dq0 = buf(nq), *dk0 = buf(nk), *dv0 = buf(nv), *scratch = buf(n_att);
        reco__attention_backward(dq0, c.qs, dk0, c.ks, dv0, c.vs, c.R, c.att, c.q, c.qs, c.k, c.ks,
                                 c.v, c.vs, c.B, c.Tq, c.T, c.d, c.nh, scratch);
        for (int variant = 0; variant < 2; variant++) {
            for (size_t b = 0; b < c.B; b++)
                for (size_t j = 0; j < c.T; j++) {
                    if (c.mask[b * c.T + j])
                        continue;
                    for (size_t e = 0; e < c.d; e++) {
                        c.k[(b * c.T + j) * c.ks + e] = variant ? NAN : 100.0f * (float)e;
                        c.v[(b * c.T + j) * c.vs + e] = variant ? NAN : -3.0f;
                    }
                }
            att_loss(&c);
            assert_memory_equal(c.out, out0, n_out * sizeof *out0);
            assert_memory_equal(c.att, att0, n_att * sizeof *att0);
            float *dq = buf(nq), *dk = buf(nk), *dv = buf(nv);
            for (size_t i = 0; i < nk; i++)
                dk[i] = 9.0f;
            for (size_t i = 0; i < nv; i++)
                dv[i] = 9.0f;
            reco__attention_backward(dq, c.qs, dk, c.ks, dv, c.vs, c.R, c.att, c.q, c.qs, c.k, c.ks,
                                     c.v, c.vs, c.B, c.Tq, c.T, c.d, c.nh, scratch);
            assert_memory_equal(dq, dq0, nq * sizeof *dq);
            for (size_t b = 0; b < c.B; b++)
                for (size_t j = 0; j < c.T; j++)
                    for (size_t e = 0; e < c.d; e++) {
                        const size_t ik = (b * c.T + j) * c.ks + e, iv = (b * c.T + j) * c.vs + e;
                        if (c.mask[b * c.T + j]) {
                            assert_float_equal(dk[ik] - 9.0f, dk0[ik], 1e-5);
                            assert_float_equal(dv[iv] - 9.0f, dv0[iv], 1e-5);
                        } else {
                            assert_true(dk[ik] == 9.0f); /* masked keys: no gradient */
                            assert_true(dv[iv] == 9.0f);
                        }
                    }
        }
        teardown_bufs(NULL);
    }
}

static void attention_gradcheck(size_t Tq, uint64_t seed)
{
    reco_rng rng;
    reco_rng_seed(&rng, seed, 0);
    att_ctx c = make_att(&rng, Tq);
    att_loss(&c);
    const size_t nq = c.B * c.Tq * c.qs, nk = c.B * c.T * c.ks, nv = c.B * c.T * c.vs;
    float *dq = buf(nq), *dk = buf(nk), *dv = buf(nv), *scratch = buf(c.B * c.nh * c.Tq * c.T);
    reco__attention_backward(dq, c.qs, dk, c.ks, dv, c.vs, c.R, c.att, c.q, c.qs, c.k, c.ks, c.v,
                             c.vs, c.B, c.Tq, c.T, c.d, c.nh, scratch);
    /* Masked keys get exactly zero gradient. */
    for (size_t b = 0; b < c.B; b++)
        for (size_t j = 0; j < c.T; j++)
            if (!c.mask[b * c.T + j])
                for (size_t e = 0; e < c.d; e++) {
                    assert_true(dk[(b * c.T + j) * c.ks + e] == 0.0f);
                    assert_true(dv[(b * c.T + j) * c.vs + e] == 0.0f);
                }
    char name[64];
    snprintf(name, sizeof name, "attention dq (Tq=%zu)", Tq);
    grad_check(name, c.q, c.B * c.Tq, c.d, c.qs, dq, c.qs, att_loss, &c, 1e-2f);
    snprintf(name, sizeof name, "attention dk (Tq=%zu)", Tq);
    grad_check(name, c.k, c.B * c.T, c.d, c.ks, dk, c.ks, att_loss, &c, 1e-2f);
    snprintf(name, sizeof name, "attention dv (Tq=%zu)", Tq);
    grad_check(name, c.v, c.B * c.T, c.d, c.vs, dv, c.vs, att_loss, &c, 1e-2f);
}

static void test_nn_attention_backward_gradcheck_tq1(void **state)
{
    (void)state;
    attention_gradcheck(1, 42);
}

static void test_nn_attention_backward_gradcheck_tq_full(void **state)
{
    (void)state;
    attention_gradcheck(7, 43);
}

/* ---- embeddings ------------------------------------------------------------------------- */

typedef struct emb_ctx {
    float *out, *table, *R;
    const int32_t *ids;
    size_t n, d;
} emb_ctx;

static double emb_loss(void *p)
{
    emb_ctx *c = p;
    reco__embedding_gather(c->out, c->table, c->ids, c->n, c->d);
    return loss_dot(c->out, c->R, c->n, c->d, c->d);
}

static void test_nn_embedding_gather_scatter(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 50, 0);
    const int32_t ids[8] = {3, 0, 5, 3, 3, 1, 0, 5}; /* repeats; row 2 and 4 unused */
    emb_ctx c = {NULL, NULL, NULL, ids, 8, 11};
    const size_t rows = 6;
    c.table = randn(&rng, rows * c.d, 1.0f);
    c.out = buf(c.n * c.d);
    c.R = randn(&rng, c.n * c.d, 1.0f);
    emb_loss(&c);
    for (size_t i = 0; i < c.n; i++)
        assert_memory_equal(c.out + i * c.d, c.table + (size_t)ids[i] * c.d, c.d * sizeof *c.out);
    float *dtable = buf(rows * c.d);
    reco__embedding_scatter_add(dtable, c.R, ids, c.n, c.d);
    for (size_t e = 0; e < c.d; e++) {
        assert_true(dtable[2 * c.d + e] == 0.0f);
        assert_float_equal(dtable[3 * c.d + e],
                           (double)c.R[0 * c.d + e] + c.R[3 * c.d + e] + c.R[4 * c.d + e], 1e-6);
    }
    grad_check("embedding dtable", c.table, rows, c.d, c.d, dtable, c.d, emb_loss, &c, 1e-3f);
}

/* ---- losses ----------------------------------------------------------------------------- */

typedef struct loss_ctx {
    float *x, *y, *w;
    size_t n;
    float delta;
} loss_ctx;

static double bce_loss(void *p)
{
    loss_ctx *c = p;
    return reco__bce_logits(NULL, c->x, c->y, c->w, c->n, 1.0f);
}

static double huber_loss(void *p)
{
    loss_ctx *c = p;
    return reco__huber(NULL, c->x, c->y, c->w, c->n, c->delta, 1.0f);
}

static void test_nn_sigmoid_stable(void **state)
{
    (void)state;
    assert_true(reco__sigmoid(0.0f) == 0.5f);
    assert_true(reco__sigmoid(200.0f) == 1.0f);
    assert_true(reco__sigmoid(-200.0f) == 0.0f);
    assert_float_equal(reco__sigmoid(-30.0f), 1.0 / (1.0 + exp(30.0)), 1e-20);
    assert_float_equal(reco__sigmoid(2.0f), 1.0 / (1.0 + exp(-2.0)), 1e-7);
}

static void test_nn_bce_matches_naive_and_is_stable(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 60, 0);
    loss_ctx c = {NULL, NULL, NULL, 29, 0.0f};
    c.x = randn(&rng, c.n, 3.0f);
    c.y = uniform(&rng, c.n, 0.0f, 1.0f);
    c.y[0] = 0.0f;
    c.y[1] = 1.0f;
    c.w = uniform(&rng, c.n, 0.1f, 2.0f);
    double ref = 0.0;
    for (size_t i = 0; i < c.n; i++) {
        double z = c.x[i], s = 1.0 / (1.0 + exp(-z));
        ref += c.w[i] * -(c.y[i] * log(s) + (1.0 - c.y[i]) * log(1.0 - s));
    }
    assert_float_equal(bce_loss(&c), ref, 1e-5 * ref);
    assert_float_equal(reco__bce_logits(NULL, c.x, c.y, NULL, 1, 1.0f),
                       log1p(exp(-fabs(c.x[0]))) + fmax(c.x[0], 0.0), 1e-6);

    /* z = +-80: the naive log(sigmoid) gives inf or NaN in float; the stable form gives
     * ~80 and gradients +-1. */
    float z[4] = {80.0f, -80.0f, 80.0f, -80.0f}, y[4] = {0.0f, 1.0f, 1.0f, 0.0f};
    float dz[4] = {0};
    double l = reco__bce_logits(dz, z, y, NULL, 4, 1.0f);
    assert_true(isfinite(l));
    assert_float_equal(l, 160.0, 1e-3);
    assert_float_equal(dz[0], 1.0, 1e-6);
    assert_float_equal(dz[1], -1.0, 1e-6);
    assert_float_equal(dz[2], 0.0, 1e-6);
    assert_float_equal(dz[3], 0.0, 1e-6);

    /* Gradient: dz += scale * w * (sigmoid(z) - y), checked by finite differences. */
    float *dx = buf(c.n);
    reco__bce_logits(dx, c.x, c.y, c.w, c.n, 1.0f);
    grad_check("bce dz", c.x, 1, c.n, c.n, dx, c.n, bce_loss, &c, 1e-3f);
    float *dx_half = buf(c.n);
    reco__bce_logits(dx_half, c.x, c.y, c.w, c.n, 0.5f);
    for (size_t i = 0; i < c.n; i++)
        assert_float_equal(dx_half[i], 0.5 * dx[i], 1e-7);
}

static void test_nn_huber_both_branches(void **state)
{
    (void)state;
    /* errors -3, -0.5, 0, 0.8, 2.5 with delta 1: quadratic inside, linear outside. */
    const float pred[5] = {-1.0f, 0.5f, 2.0f, 1.8f, 3.5f};
    const float target[5] = {2.0f, 1.0f, 2.0f, 1.0f, 1.0f};
    const float w[5] = {1.0f, 2.0f, 1.0f, 1.0f, 0.5f};
    const double want[5] = {2.5, 0.125, 0.0, 0.32, 2.0};
    float dp[5] = {0};
    double total = 0.0;
    for (size_t i = 0; i < 5; i++) {
        float g = 0.0f;
        double l = reco__huber(&g, pred + i, target + i, NULL, 1, 1.0f, 1.0f);
        assert_float_equal(l, want[i], 1e-6);
        total += w[i] * want[i];
    }
    assert_float_equal(reco__huber(dp, pred, target, w, 5, 1.0f, 2.0f), total, 1e-6);
    const float want_grad[5] = {-1.0f, -0.5f, 0.0f, 0.8f, 1.0f};
    for (size_t i = 0; i < 5; i++)
        assert_float_equal(dp[i], 2.0f * w[i] * want_grad[i], 1e-6);

    reco_rng rng;
    reco_rng_seed(&rng, 70, 0);
    loss_ctx c = {NULL, NULL, NULL, 31, 0.7f};
    c.x = randn(&rng, c.n, 1.5f);
    c.y = randn(&rng, c.n, 0.5f);
    c.w = uniform(&rng, c.n, 0.1f, 2.0f);
    float *dx = buf(c.n);
    reco__huber(dx, c.x, c.y, c.w, c.n, c.delta, 1.0f);
    grad_check("huber dpred", c.x, 1, c.n, c.n, dx, c.n, huber_loss, &c, 1e-3f);
}

/* ---- the accumulate convention ---------------------------------------------------------- */

/* g2 (after two identical backward calls from zero) must be 2 g1 (after one). Loops add the
 * same values twice, exactly; BLIS may split k into blocks, so allow rounding. */
static void assert_doubled(const char *what, const float *g1, const float *g2, size_t n)
{
    const double scale = fmax(max_abs(g1, n), 1e-30);
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)g2[i] - 2.0 * g1[i]) <= 1e-6 * scale))
            fail_msg("%s[%zu]: two calls give %g, one gives %g", what, i, g2[i], g1[i]);
}

static void test_nn_backward_accumulates(void **state)
{
    (void)state;
    reco_rng rng;
    reco_rng_seed(&rng, 80, 0);
    {
        linear_ctx c = make_linear(&rng, 6, 9, 10, 1);
        const size_t ni = c.rows * c.n_in, nw = c.n_in * c.n_out;
        float *g1[3] = {buf(ni), buf(nw), buf(c.n_out)}, *g2[3] = {buf(ni), buf(nw), buf(c.n_out)};
        for (int t = 0; t < 3; t++)
            reco__linear_backward(&c.blas, t ? g2[0] : g1[0], c.n_in, t ? g2[1] : g1[1],
                                  t ? g2[2] : g1[2], c.R, c.out_stride, c.inp, c.in_stride, c.w,
                                  c.rows, c.n_in, c.n_out);
        assert_doubled("linear dinp", g1[0], g2[0], ni);
        assert_doubled("linear dw", g1[1], g2[1], nw);
        assert_doubled("linear dbias", g1[2], g2[2], c.n_out);
    }
    {
        ln_ctx c = make_ln(&rng, 4, 17);
        ln_loss(&c);
        const size_t n = c.rows * c.d;
        float *g1[3] = {buf(n), buf(c.d), buf(c.d)}, *g2[3] = {buf(n), buf(c.d), buf(c.d)};
        for (int t = 0; t < 3; t++)
            reco__layernorm_backward(t ? g2[0] : g1[0], t ? g2[1] : g1[1], t ? g2[2] : g1[2], c.R,
                                     c.inp, c.gamma, c.mean, c.rstd, c.rows, c.d);
        assert_doubled("layernorm dinp", g1[0], g2[0], n);
        assert_doubled("layernorm dgamma", g1[1], g2[1], c.d);
        assert_doubled("layernorm dbeta", g1[2], g2[2], c.d);
    }
    {
        const size_t n = 21;
        float *x = randn(&rng, n, 2.0f), *dy = randn(&rng, n, 1.0f), *g1 = buf(n), *g2 = buf(n);
        reco__gelu_backward(g1, dy, x, n);
        reco__gelu_backward(g2, dy, x, n);
        reco__gelu_backward(g2, dy, x, n);
        assert_doubled("gelu dinp", g1, g2, n);
    }
    {
        att_ctx c = make_att(&rng, 7);
        att_loss(&c);
        const size_t nq = c.B * c.Tq * c.qs, nk = c.B * c.T * c.ks, nv = c.B * c.T * c.vs;
        float *g1[3] = {buf(nq), buf(nk), buf(nv)}, *g2[3] = {buf(nq), buf(nk), buf(nv)};
        float *scratch = buf(c.B * c.nh * c.Tq * c.T);
        for (int t = 0; t < 3; t++) {
            float **g = t ? g2 : g1;
            reco__attention_backward(g[0], c.qs, g[1], c.ks, g[2], c.vs, c.R, c.att, c.q, c.qs, c.k,
                                     c.ks, c.v, c.vs, c.B, c.Tq, c.T, c.d, c.nh, scratch);
        }
        assert_doubled("attention dq", g1[0], g2[0], nq);
        assert_doubled("attention dk", g1[1], g2[1], nk);
        assert_doubled("attention dv", g1[2], g2[2], nv);
    }
    {
        const int32_t ids[4] = {1, 1, 0, 2};
        float *dy = randn(&rng, 4 * 9, 1.0f), *g1 = buf(3 * 9), *g2 = buf(3 * 9);
        reco__embedding_scatter_add(g1, dy, ids, 4, 9);
        reco__embedding_scatter_add(g2, dy, ids, 4, 9);
        reco__embedding_scatter_add(g2, dy, ids, 4, 9);
        assert_doubled("embedding dtable", g1, g2, 3 * 9);
    }
    {
        const size_t n = 13;
        float *z = randn(&rng, n, 2.0f), *y = uniform(&rng, n, 0.0f, 1.0f);
        float *g1 = buf(n), *g2 = buf(n), *h1 = buf(n), *h2 = buf(n);
        for (int t = 0; t < 3; t++) {
            reco__bce_logits(t ? g2 : g1, z, y, NULL, n, 0.3f);
            reco__huber(t ? h2 : h1, z, y, NULL, n, 1.0f, 0.3f);
        }
        assert_doubled("bce dz", g1, g2, n);
        assert_doubled("huber dpred", h1, h2, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_nn_gemm_matches_naive, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_gemm_beta_zero_overwrites_nan, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_gemm_empty_dimensions, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_gemm_threads_agree, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_gemm_portable_order_is_fixed, teardown_bufs),
        cmocka_unit_test(test_nn_blas_init_force_kernel),
        cmocka_unit_test_teardown(test_nn_linear_forward_matches_naive, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_linear_backward_gradcheck, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_layernorm_forward_matches_naive, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_layernorm_backward_gradcheck, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_gelu_forward_values, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_gelu_backward_gradcheck, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_attention_forward_matches_naive, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_attention_padding_is_ignored, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_attention_backward_gradcheck_tq1, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_attention_backward_gradcheck_tq_full, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_embedding_gather_scatter, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_sigmoid_stable, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_bce_matches_naive_and_is_stable, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_huber_both_branches, teardown_bufs),
        cmocka_unit_test_teardown(test_nn_backward_accumulates, teardown_bufs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
