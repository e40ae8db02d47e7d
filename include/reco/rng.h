/**
 * @file rng.h
 * @brief Seeded, splittable pseudo-random generator and the distributions libreco draws from.
 * @defgroup reco_rng Random numbers
 * @ingroup reco_core
 *
 * Every random draw in libreco comes from a @ref reco_rng, a xoshiro256** generator
 * (Blackman and Vigna) seeded through SplitMix64. A generator is a small value (32 bytes) that
 * the caller owns; it needs no allocation and no free. Streams for threads are derived
 * deterministically:
 *
 * - reco_rng_seed() with the same @c seed and different @c stream numbers gives independent
 *   generators (the pair is hashed into the 256-bit state), so worker @c i of a run can use
 *   stream @c i and the result does not depend on how many workers exist or when they start;
 * - reco_rng_split() derives a child from a parent (advancing the parent);
 * - reco_rng_jump() advances by 2^128 draws, for streams that provably never overlap.
 *
 * The same seed gives the same sequence on every platform: the integer outputs are exact, and
 * the floating-point distributions use only IEEE-754 basic operations plus `log`, `sqrt`,
 * `cos` of the C library (bit-identical across glibc versions in practice, not guaranteed).
 *
 * @code
 * reco_rng rng;
 * reco_rng_seed(&rng, 42, 0);                     // stream 0 of seed 42
 * double u = reco_rng_uniform(&rng);              // [0, 1)
 * float w[3] = {1.0f, 2.0f, 7.0f};
 * size_t k;
 * if (reco_rng_categorical(&k, &rng, w, 3) == RECO_OK)
 *     printf("picked %zu\n", k);                  // 2 with probability 0.7
 * @endcode
 *
 * @par Thread safety
 * A generator is plain data: one thread at a time may use a given @ref reco_rng; give each
 * thread its own stream. All functions are reentrant.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_RNG_H
#define RECO_RNG_H

#include "reco/common.h"

RECO_BEGIN_DECLS

/**
 * @brief Generator state (xoshiro256**). Treat as opaque; copy it to snapshot a stream.
 *
 * Its size and layout are part of the ABI and do not change within a soname. A state of all
 * zeros is invalid; reco_rng_seed() never produces one.
 */
typedef struct reco_rng {
    uint64_t s[4]; /**< Internal state; do not modify. */
} reco_rng;

/**
 * @brief Seed a generator for stream @p stream of seed @p seed.
 *
 * Different (seed, stream) pairs give statistically independent generators.
 * @param[out] out    the generator to initialise.
 * @param[in]  seed   any 64-bit value.
 * @param[in]  stream any 64-bit value, e.g. a worker index.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p out is NULL.
 * @since 0.1
 */
RECO_API int reco_rng_seed(reco_rng *out, uint64_t seed, uint64_t stream);

/**
 * @brief Derive an independent child generator from @p parent, advancing @p parent.
 *
 * Splitting the same parent state twice in a row gives two different children.
 * @param[out]    child_out  receives the child; may not alias @p parent.
 * @param[in,out] parent     the generator to split.
 * @return @ref RECO_OK, or @ref RECO_EINVAL on NULL or aliasing arguments.
 * @since 0.1
 */
RECO_API int reco_rng_split(reco_rng *child_out, reco_rng *parent);

/**
 * @brief Advance @p rng by 2^128 draws (the xoshiro256 jump polynomial).
 *
 * Calling it k times on copies of one generator gives 2^128 non-overlapping subsequences.
 * @param[in,out] rng  the generator; NULL is ignored.
 * @since 0.1
 */
RECO_API void reco_rng_jump(reco_rng *rng);

/**
 * @brief Next 64 uniformly distributed bits.
 * @param[in,out] rng  a seeded generator (not NULL).
 * @return a uniform 64-bit value.
 * @since 0.1
 */
RECO_API uint64_t reco_rng_u64(reco_rng *rng);

/**
 * @brief Uniform integer in `[0, n)` without modulo bias (Lemire's method).
 * @param[in,out] rng  a seeded generator (not NULL).
 * @param[in]     n    the bound; 0 returns 0.
 * @return a value in `[0, n)`.
 * @since 0.1
 */
RECO_API uint64_t reco_rng_below(reco_rng *rng, uint64_t n);

/**
 * @brief Uniform double in `[0, 1)` with 53 random bits.
 * @param[in,out] rng  a seeded generator (not NULL).
 * @return a value in `[0, 1)`.
 * @since 0.1
 */
RECO_API double reco_rng_uniform(reco_rng *rng);

/**
 * @brief Uniform float in `[0, 1)` with 24 random bits.
 * @param[in,out] rng  a seeded generator (not NULL).
 * @return a value in `[0, 1)`.
 * @since 0.1
 */
RECO_API float reco_rng_uniformf(reco_rng *rng);

/**
 * @brief Standard normal draw (mean 0, variance 1).
 *
 * Box–Muller, cosine branch only (two draws per call; nothing is cached in the state).
 * @param[in,out] rng  a seeded generator (not NULL).
 * @return a finite normal deviate.
 * @since 0.1
 */
RECO_API double reco_rng_normal(reco_rng *rng);

/**
 * @brief Standard Gumbel draw, `-log(-log(U))` (mode 0, mean = Euler's gamma).
 *
 * @c U is strictly inside `(0, 1)`, so the result is finite (about `[-3.6, 36.7]`).
 * @param[in,out] rng  a seeded generator (not NULL).
 * @return a finite Gumbel deviate.
 * @since 0.1
 */
RECO_API double reco_rng_gumbel(reco_rng *rng);

/**
 * @brief Bernoulli draw with success probability @p p.
 * @param[in,out] rng  a seeded generator (not NULL).
 * @param[in]     p    probability in `[0, 1]`.
 * @return 1 with probability @p p (never for 0, always for 1), else 0; @ref RECO_EINVAL
 *         (negative) if @p rng is NULL or @p p is NaN or outside `[0, 1]`.
 * @since 0.1
 */
RECO_API int reco_rng_bernoulli(reco_rng *rng, double p);

/**
 * @brief Draw an index with probability proportional to @p weights.
 * @param[out]    out      the chosen index in `[0, n)`.
 * @param[in,out] rng      a seeded generator.
 * @param[in]     weights  @p n non-negative finite weights (unnormalised), not all zero.
 * @param[in]     n        number of weights, at least 1.
 * @return @ref RECO_OK (a zero-weight index is never chosen); @ref RECO_EINVAL for NULL
 *         pointers, @p n == 0, a negative, NaN or infinite weight, or an all-zero vector (then
 *         @p out and @p rng are untouched).
 * @since 0.1
 */
RECO_API int reco_rng_categorical(size_t *out, reco_rng *rng, const float *weights, size_t n);

/**
 * @brief Draw an index from `softmax(logits / temperature)` (the Gumbel-max trick).
 * @param[out]    out          the chosen index in `[0, n)`.
 * @param[in,out] rng          a seeded generator.
 * @param[in]     logits       @p n finite logits; `-INFINITY` excludes an entry.
 * @param[in]     n            number of logits, at least 1.
 * @param[in]     temperature  positive and finite.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL pointers, @p n == 0, a NaN or `+INFINITY`
 *         logit, all entries excluded, or a temperature that is not positive and finite (then
 *         @p out and @p rng are untouched).
 * @since 0.1
 */
RECO_API int reco_rng_categorical_logits(size_t *out, reco_rng *rng, const float *logits,
                                         size_t n, float temperature);

/**
 * @brief Shuffle @p values in place (Fisher–Yates); every permutation equally likely.
 * @param[in,out] rng     a seeded generator.
 * @param[in,out] values  @p n values.
 * @param[in]     n       number of values; 0 and 1 are no-ops.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p rng is NULL, or @p values is NULL with
 *         @p n > 0.
 * @since 0.1
 */
RECO_API int reco_rng_shuffle_u32(reco_rng *rng, uint32_t *values, size_t n);

/**
 * @brief Fill @p out with a uniformly random permutation of `0 .. n-1`.
 * @param[out]    out  @p n entries (may be NULL when @p n is 0).
 * @param[in,out] rng  a seeded generator.
 * @param[in]     n    permutation size, at most `UINT32_MAX`.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p rng is NULL, @p out is NULL with @p n > 0,
 *         or @p n is too large (then @p out is untouched).
 * @since 0.1
 */
RECO_API int reco_rng_permutation(uint32_t *out, reco_rng *rng, size_t n);

/**
 * @brief Sample @p k distinct values from `0 .. n-1` without replacement, in random order.
 *
 * Every k-subset is equally likely and so is every order. Never allocates (@p out and a
 * 16 KiB table on the stack are the only workspace). When `64 < k <= 2048` and `4 k <= n`:
 * Floyd's algorithm with a hash set, O(k) expected time; otherwise when `k <= 64` or
 * `k * k <= 4 n`: Floyd's algorithm with a linear membership scan of @p out, O(k^2) time;
 * otherwise selection sampling (Knuth's Algorithm S), O(n) time. All end with a Fisher–Yates
 * shuffle of @p out (k - 1 more draws).
 * @param[out]    out  @p k entries (may be NULL when @p k is 0).
 * @param[in,out] rng  a seeded generator.
 * @param[in]     n    population size.
 * @param[in]     k    sample size, at most @p n.
 * @return @ref RECO_OK, or @ref RECO_EINVAL if @p rng is NULL, @p out is NULL with @p k > 0,
 *         or @p k > @p n (then @p out is untouched).
 * @since 0.1
 */
RECO_API int reco_rng_sample(uint32_t *out, reco_rng *rng, uint32_t n, uint32_t k);

RECO_END_DECLS

/** @} */
#endif /* RECO_RNG_H */
