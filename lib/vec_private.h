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

/* RECO__HOT marks the functions that carry the elementwise and small-product work. On x86-64
 * Linux with GCC each is compiled twice, for the x86-64 baseline (SSE2) and for x86-64-v3
 * (AVX2 + FMA), and the dynamic loader picks the version the CPU supports (an ifunc), so the
 * library stays a baseline x86-64 binary. BLIS does its own dispatch. The library is built
 * with -ffp-contract=off, so the two versions do the same operations in the same order and
 * give the same bits (docs/determinism.md). Define RECO_NO_CLONES to build a single version. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(RECO_NO_CLONES)
#  define RECO__HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#  define RECO__HOT
#endif

/* Helpers that take or return vec8f must be inlined into their (cloned) callers: an
 * out-of-line copy is compiled for the baseline ISA, whose vector calling convention differs
 * from the AVX2 clone's (GCC's -Wpsabi note, silenced in lib/meson.build). */
#if defined(__GNUC__)
#  define VEC_INLINE __attribute__((always_inline))
#else
#  define VEC_INLINE
#endif

/* Eight floats as one value (GCC/Clang vector extension): kept in registers, lowered to one
 * AVX or two SSE registers depending on the clone being compiled. */
typedef float vec8f __attribute__((vector_size(VEC_LANES * sizeof(float))));
/* The lanes of a comparison of two vec8f: -1 where true, 0 where false. */
typedef int vec8i __attribute__((vector_size(VEC_LANES * sizeof(int))));

static inline vec8f vec8_load(const float *p)
{
    vec8f v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

static inline void vec8_store(float *p, vec8f v)
{
    __builtin_memcpy(p, &v, sizeof v);
}

/* Pairwise sum of the lanes. */
static inline float vec8_hsum(vec8f v)
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/* Pairwise sum of the VEC_LANES partial sums. */
static inline float vec_hsum(const float acc[VEC_LANES])
{
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* sum_i a[i] * b[i], n >= 0. */
static inline float vec_dot(const float *restrict a, const float *restrict b, size_t n)
{
    vec8f acc = {0};
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES)
        acc += vec8_load(a + i) * vec8_load(b + i);
    float tail = 0.0f;
    for (; i < n; i++)
        tail += a[i] * b[i];
    return tail + vec8_hsum(acc);
}

/* out[q] = sum_i a[i] * b_q[i] for four vectors b_q at once: four independent accumulation
 * chains, so the FMA latency that bounds a single dot product is hidden. */
static inline void vec_dot4(float out[4], const float *restrict a, const float *b0,
                            const float *b1, const float *b2, const float *b3, size_t n)
{
    vec8f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    size_t i = 0;
    for (; i + VEC_LANES <= n; i += VEC_LANES) {
        const vec8f x = vec8_load(a + i);
        s0 += x * vec8_load(b0 + i);
        s1 += x * vec8_load(b1 + i);
        s2 += x * vec8_load(b2 + i);
        s3 += x * vec8_load(b3 + i);
    }
    float t0 = 0.0f, t1 = 0.0f, t2 = 0.0f, t3 = 0.0f;
    for (; i < n; i++) {
        t0 += a[i] * b0[i];
        t1 += a[i] * b1[i];
        t2 += a[i] * b2[i];
        t3 += a[i] * b3[i];
    }
    out[0] = t0 + vec8_hsum(s0);
    out[1] = t1 + vec8_hsum(s1);
    out[2] = t2 + vec8_hsum(s2);
    out[3] = t3 + vec8_hsum(s3);
}

/* Lane q of the result is vec8_hsum(s_q), with the same additions in the same order, so a dot
 * product reduced eight at a time has the bits of one reduced alone. One transposed reduction
 * (three rounds of shuffle pairs and adds) instead of eight separate ones. */
static inline VEC_INLINE vec8f vec8_hsum8(vec8f s0, vec8f s1, vec8f s2, vec8f s3, vec8f s4,
                                          vec8f s5, vec8f s6, vec8f s7)
{
    /* lanes (i, i + 4) of two vectors: [s0 04 15 26 37 | s1 04 15 26 37] */
#define VEC8_PAIR(a, b)                                                                        \
    (__builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11) +                                 \
     __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15))
    const vec8f u01 = VEC8_PAIR(s0, s1), u23 = VEC8_PAIR(s2, s3);
    const vec8f u45 = VEC8_PAIR(s4, s5), u67 = VEC8_PAIR(s6, s7);
#undef VEC8_PAIR
    /* (04 + 15) and (26 + 37): [s0a s0b s2a s2b s1a s1b s3a s3b] */
    const vec8f w0 = __builtin_shufflevector(u01, u23, 0, 2, 8, 10, 4, 6, 12, 14) +
                     __builtin_shufflevector(u01, u23, 1, 3, 9, 11, 5, 7, 13, 15);
    const vec8f w1 = __builtin_shufflevector(u45, u67, 0, 2, 8, 10, 4, 6, 12, 14) +
                     __builtin_shufflevector(u45, u67, 1, 3, 9, 11, 5, 7, 13, 15);
    /* a + b, back in the order s0 .. s7 */
    return __builtin_shufflevector(w0, w1, 0, 4, 2, 6, 8, 12, 10, 14) +
           __builtin_shufflevector(w0, w1, 1, 5, 3, 7, 9, 13, 11, 15);
}

/* Lane q = vec_dot(a, rows + q * stride, n), bit for bit, for eight rows at a fixed stride,
 * computed row after row. Meant to be inlined with a compile-time n: the loops then unroll
 * into straight-line code whose loads walk the rows in address order, which the hardware
 * prefetchers follow at full memory bandwidth when the rows stream from DRAM (with the loop
 * left in, or with the rows interleaved, the same scan ran 20-40% slower). */
static inline VEC_INLINE vec8f vec_dot8_rows(const float *restrict a, const float *rows,
                                             size_t stride, size_t n)
{
    vec8f s[VEC_LANES];
    float t[VEC_LANES];
#pragma GCC unroll 8
    for (size_t q = 0; q < VEC_LANES; q++) {
        const float *r = rows + q * stride;
        vec8f acc = {0};
        size_t i = 0;
#pragma GCC unroll 16
        for (; i + VEC_LANES <= n; i += VEC_LANES)
            acc += vec8_load(a + i) * vec8_load(r + i);
        float tail = 0.0f;
        for (; i < n; i++)
            tail += a[i] * r[i];
        s[q] = acc;
        t[q] = tail;
    }
    return (vec8f){t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]} +
           vec8_hsum8(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
}

/* Lane q = vec_dot(a, rows[q], n), bit for bit, for eight rows anywhere (scattered catalog
 * rows): vec_dot8_rows with a pointer per row. Eight independent chains and one transposed
 * reduction instead of eight latency-bound dot products each reduced alone. */
static inline VEC_INLINE vec8f vec_dot8_ptrs(const float *restrict a,
                                             const float *const rows[VEC_LANES], size_t n)
{
    vec8f s[VEC_LANES];
    float t[VEC_LANES];
#pragma GCC unroll 8
    for (size_t q = 0; q < VEC_LANES; q++) {
        const float *r = rows[q];
        vec8f acc = {0};
        size_t i = 0;
#pragma GCC unroll 16
        for (; i + VEC_LANES <= n; i += VEC_LANES)
            acc += vec8_load(a + i) * vec8_load(r + i);
        float tail = 0.0f;
        for (; i < n; i++)
            tail += a[i] * r[i];
        s[q] = acc;
        t[q] = tail;
    }
    return (vec8f){t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]} +
           vec8_hsum8(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
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
