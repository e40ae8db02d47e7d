/* Vector-friendly kernels shared by the numeric code (nn.c, model.c).
 *
 * The library is built without -march and, by default, at -O2 without -ffast-math, where GCC
 * never reorders a float reduction. These kernels work in blocks of VEC_LANES elements with a
 * fixed-length inner loop and VEC_LANES independent partial sums, which GCC turns into SSE (or,
 * with -march, AVX) instructions; the tail of a row is a scalar loop. */
#ifndef RECO_VEC_PRIVATE_H
#define RECO_VEC_PRIVATE_H

#include <stddef.h>

#define VEC_LANES 8

/* Pairwise sum of the VEC_LANES partial sums. */
static inline float vec_hsum(const float acc[VEC_LANES])
{
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* sum_i a[i] * b[i], n >= 0. */
static inline float vec_dot(const float *restrict a, const float *restrict b, size_t n)
{
    float acc[VEC_LANES] = {0};
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES)
        for (size_t u = 0; u < VEC_LANES; u++)
            acc[u] += a[i + u] * b[i + u];
    float tail = 0.0f;
    for (; i < n; i++)
        tail += a[i] * b[i];
    return tail + vec_hsum(acc);
}

/* y[i] += a * x[i]; y and x must not overlap. */
static inline void vec_axpy(float *restrict y, float a, const float *restrict x, size_t n)
{
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES)
        for (size_t u = 0; u < VEC_LANES; u++)
            y[i + u] += a * x[i + u];
    for (; i < n; i++)
        y[i] += a * x[i];
}

#endif /* RECO_VEC_PRIVATE_H */
