/* Random numbers: xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/) seeded through
 * SplitMix64, and the distributions the rest of libreco draws from.
 *
 * Nothing here allocates: a generator is four words the caller owns, and the samplers that need
 * scratch space (reco_rng_sample) use the caller's output buffer. Hot value-returning functions
 * take a valid generator and do no checking (see rng.h); the int-returning ones validate every
 * argument before they touch the generator or the output, so a failed call changes nothing. */
#include <math.h>
#include <string.h>
#include <stdint.h>

#include "detmath_private.h"
#include "error_private.h"
#include "reco/rng.h"

/* 2^64 / golden ratio: SplitMix64's increment (Steele, Lea and Flood 2014). */
#define GOLDEN_GAMMA UINT64_C(0x9e3779b97f4a7c15)
/* A different odd offset for the stream number (the fraction of sqrt(3), as in SHA-512's
 * initial hash), so stream 0 is not fed to its mixer as 0, a fixed point of the mixer. */
#define STREAM_GAMMA UINT64_C(0xbb67ae8584caa73b)

static inline uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* SplitMix64's output function (Stafford's "Mix13"): a bijection of the 64-bit words with
 * full avalanche, so distinct inputs always give distinct outputs. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A second bijective finaliser (MurmurHash3's fmix64) for the stream number, unrelated to the
 * seed's mixer, so that (seed, stream) and (stream, seed) give unrelated generators. */
static inline uint64_t mix64_stream(uint64_t z)
{
    z = (z ^ (z >> 33)) * UINT64_C(0xff51afd7ed558ccd);
    z = (z ^ (z >> 33)) * UINT64_C(0xc4ceb9fe1a85ec53);
    return z ^ (z >> 33);
}

static inline uint64_t splitmix64_next(uint64_t *x)
{
    *x += GOLDEN_GAMMA;
    return mix64(*x);
}

int reco_rng_seed(reco_rng *out, uint64_t seed, uint64_t stream)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_seed: out is NULL");
    /* Hash the pair into one SplitMix64 starting point. For a fixed seed the map from stream to
     * starting point is a bijection (and likewise for a fixed stream), so two streams of one
     * seed never share a state; the final mix64 makes neighbouring pairs unrelated. */
    uint64_t x = mix64(seed ^ mix64_stream(stream + STREAM_GAMMA));
    /* Four consecutive SplitMix64 outputs are images of four distinct inputs under a
     * bijection, so at most one of them is zero: the state is never all zero. */
    for (size_t i = 0; i < 4; ++i)
        out->s[i] = splitmix64_next(&x);
    return RECO_OK;
}

uint64_t reco_rng_u64(reco_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl64(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

int reco_rng_split(reco_rng *child_out, reco_rng *parent)
{
    if (child_out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_split: child_out is NULL");
    if (parent == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_split: parent is NULL");
    if (child_out == parent)
        return reco__error_set(RECO_EINVAL, "reco_rng_split: child_out aliases parent");
    /* Four parent outputs, each pushed through a different SplitMix64 step: the child's state is
     * a non-linear function of the parent's outputs, so it is not a GF(2)-linear image of the
     * parent's continuation (xoshiro's transition is linear; a plain copy or XOR would not be
     * independent). */
    uint64_t s[4];
    for (size_t i = 0; i < 4; ++i)
        s[i] = mix64(reco_rng_u64(parent) + (uint64_t)(i + 1) * GOLDEN_GAMMA);
    if ((s[0] | s[1] | s[2] | s[3]) == 0)
        s[0] = GOLDEN_GAMMA; /* probability 2^-256, but the all-zero state is a fixed point */
    for (size_t i = 0; i < 4; ++i)
        child_out->s[i] = s[i];
    return RECO_OK;
}

void reco_rng_jump(reco_rng *rng)
{
    /* The jump polynomial for 2^128 steps, from the reference xoshiro256 sources; tests/
     * test_rng.c checks it against the 256x256 GF(2) transition matrix raised to 2^128. */
    static const uint64_t jump[4] = {UINT64_C(0x180ec6d33cfd0aba), UINT64_C(0xd5a61266f0c9392c),
                                     UINT64_C(0xa9582618e03fc9aa), UINT64_C(0x39abdc4529b1661c)};
    if (rng == NULL)
        return;
    uint64_t acc[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < 4; ++i) {
        for (int b = 0; b < 64; ++b) {
            if (jump[i] & (UINT64_C(1) << b)) {
                for (size_t w = 0; w < 4; ++w)
                    acc[w] ^= rng->s[w];
            }
            (void)reco_rng_u64(rng);
        }
    }
    for (size_t w = 0; w < 4; ++w)
        rng->s[w] = acc[w];
}

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 rng_u128; /* __extension__: quiet under -pedantic */
#endif

/* Full 64x64 -> 128-bit product: high word returned, low word in *lo. */
static inline uint64_t mul_128(uint64_t a, uint64_t b, uint64_t *lo)
{
#if defined(__SIZEOF_INT128__)
    const rng_u128 p = (rng_u128)a * b;
    *lo = (uint64_t)p;
    return (uint64_t)(p >> 64);
#else
    const uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
    const uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
    const uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    const uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    *lo = (mid << 32) | (ll & 0xffffffffu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

uint64_t reco_rng_below(reco_rng *rng, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Lemire (2019), "Fast random integer generation in an interval": the high word of x * n is
     * uniform on [0, n) once the low words below 2^64 mod n are rejected; the division that
     * computes that threshold runs only when the low word is already small (rare). */
    uint64_t lo;
    uint64_t hi = mul_128(reco_rng_u64(rng), n, &lo);
    if (lo < n) {
        const uint64_t threshold = (0 - n) % n; /* 2^64 mod n */
        while (lo < threshold)
            hi = mul_128(reco_rng_u64(rng), n, &lo);
    }
    return hi;
}

double reco_rng_uniform(reco_rng *rng)
{
    /* The top 53 bits, exactly representable: k * 2^-53 with k < 2^53, so never 1. */
    return (double)(reco_rng_u64(rng) >> 11) * 0x1.0p-53;
}

float reco_rng_uniformf(reco_rng *rng)
{
    return (float)(reco_rng_u64(rng) >> 40) * 0x1.0p-24f;
}

/* (k + 1) * 2^-53 for k < 2^53: uniform on (0, 1], exact, so log() of it is finite. */
static inline double uniform_open0(reco_rng *rng)
{
    return (double)((reco_rng_u64(rng) >> 11) + 1) * 0x1.0p-53;
}

double reco_rng_normal(reco_rng *rng)
{
    /* Box-Muller, cosine branch only: the state is just s[4], so the sine partner is not
     * cached (one normal costs two draws). |result| <= sqrt(-2 log 2^-53) ~ 8.57. */
    const double u1 = uniform_open0(rng);
    const double u2 = reco_rng_uniform(rng);
    const double r = sqrt(-2.0 * reco__log(u1));
    return r * reco__cos(6.283185307179586476925286766559 * u2);
}

double reco_rng_gumbel(reco_rng *rng)
{
    /* U = (k + 1/2) * 2^-52 with k < 2^52: exact (53 significant bits), strictly inside
     * (0, 1), so both logs are finite: the result lies in about [-3.6, 36.7]. */
    const double u = ((double)(reco_rng_u64(rng) >> 12) + 0.5) * 0x1.0p-52;
    return -reco__log(-reco__log(u));
}

int reco_rng_bernoulli(reco_rng *rng, double p)
{
    if (rng == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_bernoulli: rng is NULL");
    if (!(p >= 0.0 && p <= 1.0)) /* also rejects NaN */
        return reco__error_set(RECO_EINVAL, "reco_rng_bernoulli: p = %g is not in [0, 1]", p);
    /* U in [0, 1): p == 0 never succeeds and p == 1 always does. Always one draw, so the
     * stream's position does not depend on p. */
    return reco_rng_uniform(rng) < p ? 1 : 0;
}

int reco_rng_categorical(size_t *out, reco_rng *rng, const float *weights, size_t n)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical: out is NULL");
    if (rng == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical: rng is NULL");
    if (weights == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical: weights is NULL");
    if (n == 0)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical: n is 0");

    double sum = 0.0;
    size_t last_positive = 0;
    for (size_t i = 0; i < n; ++i) {
        const float w = weights[i];
        if (isnan(w))
            return reco__error_set(RECO_EINVAL, "reco_rng_categorical: weight %zu is NaN", i);
        if (w < 0.0f)
            return reco__error_set(RECO_EINVAL, "reco_rng_categorical: weight %zu is negative (%g)",
                                   i, (double)w);
        if (isinf(w))
            return reco__error_set(RECO_EINVAL, "reco_rng_categorical: weight %zu is infinite", i);
        if (w > 0.0f)
            last_positive = i;
        sum += (double)w;
    }
    if (!(sum > 0.0))
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical: all %zu weights are zero", n);

    /* A zero weight leaves the running sum unchanged, and `target < acc` was already false for
     * that value, so a zero-weight index is never returned. The scan stops before the last
     * positive weight, which takes whatever is left: no round-off in u * sum or in the running
     * sum can then yield a trailing zero-weight index or n. */
    const double target = reco_rng_uniform(rng) * sum;
    double acc = 0.0;
    for (size_t i = 0; i < last_positive; ++i) {
        acc += (double)weights[i];
        if (target < acc) {
            *out = i;
            return RECO_OK;
        }
    }
    *out = last_positive;
    return RECO_OK;
}

int reco_rng_categorical_logits(size_t *out, reco_rng *rng, const float *logits, size_t n,
                                float temperature)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical_logits: out is NULL");
    if (rng == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical_logits: rng is NULL");
    if (logits == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical_logits: logits is NULL");
    if (n == 0)
        return reco__error_set(RECO_EINVAL, "reco_rng_categorical_logits: n is 0");
    if (!(temperature > 0.0f) || isinf(temperature))
        return reco__error_set(RECO_EINVAL,
                               "reco_rng_categorical_logits: temperature %g is not positive "
                               "and finite",
                               (double)temperature);
    size_t live = 0;
    for (size_t i = 0; i < n; ++i) {
        const float z = logits[i];
        if (isnan(z))
            return reco__error_set(RECO_EINVAL, "reco_rng_categorical_logits: logit %zu is NaN", i);
        if (isinf(z) && z > 0.0f)
            return reco__error_set(RECO_EINVAL,
                                   "reco_rng_categorical_logits: logit %zu is +infinity", i);
        if (!isinf(z))
            ++live;
    }
    if (live == 0)
        return reco__error_set(RECO_EINVAL,
                               "reco_rng_categorical_logits: all %zu logits are -infinity", n);

    /* Gumbel-max: argmax_i (z_i / T + G_i) is distributed as softmax(z / T), with no
     * exponentials to overflow. In double, z / T cannot overflow (|z| < 2^128, T >= 2^-149). */
    const double inv_t = 1.0 / (double)temperature;
    size_t best = n;
    double best_key = 0.0;
    for (size_t i = 0; i < n; ++i) {
        if (isinf(logits[i]))
            continue;
        const double key = (double)logits[i] * inv_t + reco_rng_gumbel(rng);
        if (best == n || key > best_key) {
            best = i;
            best_key = key;
        }
    }
    *out = best;
    return RECO_OK;
}

/* Fisher-Yates on a validated buffer. */
static void shuffle_u32(reco_rng *rng, uint32_t *values, size_t n)
{
    for (size_t i = n; i > 1; --i) {
        const size_t j = (size_t)reco_rng_below(rng, (uint64_t)i);
        const uint32_t tmp = values[i - 1];
        values[i - 1] = values[j];
        values[j] = tmp;
    }
}

int reco_rng_shuffle_u32(reco_rng *rng, uint32_t *values, size_t n)
{
    if (rng == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_shuffle_u32: rng is NULL");
    if (values == NULL && n > 0)
        return reco__error_set(RECO_EINVAL, "reco_rng_shuffle_u32: values is NULL (n = %zu)", n);
    shuffle_u32(rng, values, n);
    return RECO_OK;
}

int reco_rng_permutation(uint32_t *out, reco_rng *rng, size_t n)
{
    if (rng == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_permutation: rng is NULL");
    if (out == NULL && n > 0)
        return reco__error_set(RECO_EINVAL, "reco_rng_permutation: out is NULL (n = %zu)", n);
    if ((uint64_t)n > UINT32_MAX)
        return reco__error_set(RECO_EINVAL, "reco_rng_permutation: n = %zu exceeds UINT32_MAX", n);
    /* Inside-out Fisher-Yates: fills and shuffles in one pass, same distribution. */
    for (size_t i = 0; i < n; ++i) {
        const size_t j = (size_t)reco_rng_below(rng, (uint64_t)i + 1);
        out[i] = out[j];
        out[j] = (uint32_t)i;
    }
    return RECO_OK;
}

/* Floyd's algorithm is O(k^2) here (linear membership scans in `out`), selection sampling is
 * O(n) draws: take Floyd's while k is small or k^2 stays within a few times n. Kept in step
 * with the complexity note in rng.h and the branch tests in tests/test_rng.c. */
#define SAMPLE_FLOYD_MAX_K 64u
/* Floyd with a hash set for 64 < k <= 2048 when the sample is sparse (4k <= n). */
#define SAMPLE_HASH_MAX_K 2048u
#define SAMPLE_HASH_SLOTS 4096u

int reco_rng_sample(uint32_t *out, reco_rng *rng, uint32_t n, uint32_t k)
{
    if (rng == NULL)
        return reco__error_set(RECO_EINVAL, "reco_rng_sample: rng is NULL");
    if (out == NULL && k > 0)
        return reco__error_set(RECO_EINVAL, "reco_rng_sample: out is NULL (k = %u)", k);
    if (k > n)
        return reco__error_set(RECO_EINVAL, "reco_rng_sample: k = %u exceeds n = %u", k, n);

    if (k > SAMPLE_FLOYD_MAX_K && k <= SAMPLE_HASH_MAX_K && 4 * (uint64_t)k <= n) {
        /* Floyd again, with membership in a hash set on the stack (open addressing, a table
         * at least twice k, so probes stay short): O(k) expected instead of O(k^2) — 500 of a
         * 1M catalog costs ~k draws, not a quarter million comparisons. Values are < n <=
         * UINT32_MAX, so UINT32_MAX marks an empty slot. */
        uint32_t table[SAMPLE_HASH_SLOTS];
        memset(table, 0xff, sizeof table);
        const uint32_t mask = SAMPLE_HASH_SLOTS - 1;
        size_t m = 0;
        for (uint64_t j = (uint64_t)n - k; j < n; ++j) {
            uint32_t v = (uint32_t)reco_rng_below(rng, j + 1);
            for (int pass = 0; pass < 2; pass++) {
                uint32_t h = (uint32_t)((v * 0x9E3779B1u) >> 16) & mask;
                while (table[h] != UINT32_MAX && table[h] != v)
                    h = (h + 1) & mask;
                if (table[h] == UINT32_MAX) {
                    table[h] = v;
                    break;
                }
                v = (uint32_t)j; /* t was taken: j itself is new (all earlier values < j) */
            }
            out[m++] = v;
        }
    } else if (k <= SAMPLE_FLOYD_MAX_K || (uint64_t)k * k <= 4 * (uint64_t)n) {
        /* Floyd (Bentley and Floyd 1987): for j = n-k .. n-1 add a uniform t in [0, j], or j
         * itself if t is taken; every k-subset is equally likely. */
        size_t m = 0;
        for (uint64_t j = (uint64_t)n - k; j < n; ++j) {
            const uint32_t t = (uint32_t)reco_rng_below(rng, j + 1);
            int taken = 0;
            for (size_t i = 0; i < m; ++i) {
                if (out[i] == t) {
                    taken = 1;
                    break;
                }
            }
            out[m++] = taken ? (uint32_t)j : t;
        }
    } else {
        /* Selection sampling (Knuth, TAOCP 3.4.2, Algorithm S) with an exact integer test:
         * keep t with probability (k - m) / (n - t). */
        size_t m = 0;
        for (uint64_t t = 0; m < k; ++t) {
            if (reco_rng_below(rng, (uint64_t)n - t) < (uint64_t)k - m)
                out[m++] = (uint32_t)t;
        }
    }
    /* Both produce a uniform subset but not a uniform order (Floyd's early slots favour small
     * values, Algorithm S is sorted), hence the shuffle. */
    shuffle_u32(rng, out, k);
    return RECO_OK;
}
