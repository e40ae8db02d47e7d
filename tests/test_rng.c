/* Tests of reco_rng: pinned reference outputs, determinism, the distributions' moments and
 * chi-square fits, edge cases reached by crafting the (public) state, and argument errors.
 *
 * Statistical assertions use fixed seeds, so each run is deterministic; tolerances sit at 5 or
 * more standard errors (stated next to each), so a correct sampler passes for any seed while a
 * wrong distribution fails. Chi-square statistics are compared with the critical value at
 * p = 1e-6 for their degrees of freedom (quantiles from the regularised incomplete gamma).
 *
 * The reference constants were produced by this independent Python 3 script (standard library
 * only), run with /usr/bin/python3 3.11; the jump reference raises the 256x256 GF(2) transition
 * matrix to the power 2^128 by squaring, so it checks the jump polynomial's constants too:
 *
 *   import math
 *   M = (1 << 64) - 1
 *   def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
 *   def mix(z):  # SplitMix64 / Stafford Mix13
 *       z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M
 *       z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
 *       return z ^ (z >> 31)
 *   def fmix(z):  # MurmurHash3 fmix64
 *       z = ((z ^ (z >> 33)) * 0xff51afd7ed558ccd) & M
 *       z = ((z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53) & M
 *       return z ^ (z >> 33)
 *   def nxt(s):  # xoshiro256**, s is a list of 4 words, updated in place
 *       r = (rotl((s[1] * 5) & M, 7) * 9) & M
 *       t = (s[1] << 17) & M
 *       s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
 *       s[3] = rotl(s[3], 45)
 *       return r
 *   def seed(sd, st):
 *       x = mix(sd ^ fmix((st + 0xbb67ae8584caa73b) & M)); s = []
 *       for _ in range(4):
 *           x = (x + 0x9e3779b97f4a7c15) & M; s.append(mix(x))
 *       return s
 *   def below(s, n):  # Lemire, with rejection
 *       while True:
 *           p = nxt(s) * n
 *           if (p & M) >= (2**64 - n) % n: return p >> 64
 *   def uniform(s): return (nxt(s) >> 11) * 2.0**-53
 *   def normal(s):
 *       u1 = ((nxt(s) >> 11) + 1) * 2.0**-53; u2 = uniform(s)
 *       return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
 *   def gumbel(s): return -math.log(-math.log(((nxt(s) >> 12) + 0.5) * 2.0**-52))
 *   def jump_by_matrix(s):  # T^(2^128) over GF(2); independent of the jump constants
 *       pack = lambda w: w[0] | w[1] << 64 | w[2] << 128 | w[3] << 192
 *       unpack = lambda v: [(v >> (64 * i)) & M for i in range(4)]
 *       def step(v): w = unpack(v); nxt(w); return pack(w)
 *       def apply(cols, v):
 *           r = 0
 *           while v:
 *               low = v & -v; r ^= cols[low.bit_length() - 1]; v ^= low
 *           return r
 *       cols = [step(1 << j) for j in range(256)]
 *       for _ in range(128): cols = [apply(cols, c) for c in cols]
 *       return unpack(apply(cols, pack(s)))
 *   s = [1, 2, 3, 4]; print([hex(nxt(s)) for _ in range(6)])
 *   s = seed(42, 0); print([hex(w) for w in s], [hex(nxt(s)) for _ in range(4)])
 *   s = seed(42, 0); print([below(s, 1000) for _ in range(6)])
 *   s = seed(42, 0); print([repr(uniform(s)) for _ in range(4)])
 *   s = seed(42, 0); print([repr(normal(s)) for _ in range(6)])
 *   s = seed(42, 0); print([repr(gumbel(s)) for _ in range(4)])
 *   j = jump_by_matrix([1, 2, 3, 4]); print([hex(w) for w in j], [hex(nxt(j)) for _ in range(2)])
 */
#include <math.h>

#include "test_common.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* Chi-square critical values at p = 1e-6, by degrees of freedom. */
#define CHI2_DF2 27.63
#define CHI2_DF3 30.66
#define CHI2_DF4 33.38
#define CHI2_DF6 38.26
#define CHI2_DF9 44.81
#define CHI2_DF23 70.55
#define CHI2_DF49 111.14
#define CHI2_DF79 153.71
#define CHI2_DF99 180.79

/* ---- helpers -------------------------------------------------------------------------- */

/* Pearson's statistic sum (O - E)^2 / E, with E = total * probs[i]. */
static double chi_square(const uint64_t *counts, const double *probs, size_t bins)
{
    uint64_t total = 0;
    for (size_t i = 0; i < bins; ++i)
        total += counts[i];
    double stat = 0.0;
    for (size_t i = 0; i < bins; ++i) {
        const double e = (double)total * probs[i];
        const double d = (double)counts[i] - e;
        stat += d * d / e;
    }
    return stat;
}

static double chi_square_uniform(const uint64_t *counts, size_t bins)
{
    static double probs[512];
    assert_true(bins <= 512);
    for (size_t i = 0; i < bins; ++i)
        probs[i] = 1.0 / (double)bins;
    return chi_square(counts, probs, bins);
}

#define assert_chi_square_below(stat, crit)                                                        \
    do {                                                                                           \
        const double stat_ = (stat);                                                               \
        if (!(stat_ < (crit)))                                                                     \
            fail_msg("chi-square %.3f >= critical %.2f (%s)", stat_, (double)(crit), #stat);       \
    } while (0)

#define assert_near(value, expected, tol)                                                          \
    do {                                                                                           \
        const double v_ = (value), e_ = (expected), t_ = (tol);                                    \
        if (!(fabs(v_ - e_) <= t_))                                                                \
            fail_msg("%s = %.6g, expected %.6g +- %.3g", #value, v_, e_, t_);                      \
    } while (0)

/* Multiplicative inverse of an odd a modulo 2^64 (Newton: each step doubles the bits). */
static uint64_t inverse_odd(uint64_t a)
{
    uint64_t x = a; /* correct to 3 bits: a * a == 1 (mod 8) for odd a */
    for (int i = 0; i < 5; ++i)
        x *= 2 - a * x;
    return x;
}

/* Sets a valid state whose next reco_rng_u64() returns `want`: the xoshiro256** output is
 * rotl(s[1] * 5, 7) * 9 of the current state, which is invertible in s[1]. */
static void set_next_output(reco_rng *r, uint64_t want)
{
    const uint64_t x = want * inverse_odd(9);
    const uint64_t y = (x >> 7) | (x << 57);
    r->s[0] = 1;
    r->s[1] = y * inverse_odd(5);
    r->s[2] = 3;
    r->s[3] = 4;
}

static double correlation(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; ++i) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxy / sqrt(sxx * syy);
}

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

#define N_CORR 1000000
static double corr_x[N_CORR];
static double corr_y[N_CORR];

/* ---- reference values ----------------------------------------------------------------- */

static void test_rng_xoshiro_reference(void **state)
{
    (void)state;
    /* From the Python script above; the first four also match the published xoshiro256**
     * outputs for this state (11520, 0, 1509978240, 1215971899390074240). */
    static const uint64_t expect[6] = {UINT64_C(0x0000000000002d00), UINT64_C(0x0000000000000000),
                                       UINT64_C(0x000000005a007080), UINT64_C(0x10e0000000009d80),
                                       UINT64_C(0x10e0b61ce1009d80), UINT64_C(0x0870021ce143ad00)};
    reco_rng r = {{1, 2, 3, 4}};
    for (size_t i = 0; i < 6; ++i)
        assert_int_equal(reco_rng_u64(&r), expect[i]);
}

static void test_rng_seed_reference(void **state)
{
    (void)state;
    /* Pins the seeding: a change of reco_rng_seed's derivation changes every user's results. */
    static const uint64_t expect_state[4] = {
        UINT64_C(0xa2d238571e82c8ec), UINT64_C(0x75168b9007884a22), UINT64_C(0x3486e43ab85ab53c),
        UINT64_C(0x1b4612bc325979e6)};
    static const uint64_t expect_u64[4] = {
        UINT64_C(0x7b4428a97a83fe44), UINT64_C(0x54bbcaad8ceac6f8), UINT64_C(0xd5569fba090f62d4),
        UINT64_C(0xa02c86326009568c)};
    static const uint64_t expect_below[6] = {481, 330, 833, 625, 971, 542};
    static const double expect_uniform[4] = {0.481508771301847, 0.33099047410079674,
                                             0.8333530263126341, 0.6256793854700267};
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 42, 0), RECO_OK);
    for (size_t i = 0; i < 4; ++i)
        assert_int_equal(r.s[i], expect_state[i]);
    for (size_t i = 0; i < 4; ++i)
        assert_int_equal(reco_rng_u64(&r), expect_u64[i]);

    assert_int_equal(reco_rng_seed(&r, 42, 0), RECO_OK);
    for (size_t i = 0; i < 6; ++i)
        assert_int_equal(reco_rng_below(&r, 1000), expect_below[i]);

    /* k * 2^-53 is exact in both languages: compare exactly. */
    assert_int_equal(reco_rng_seed(&r, 42, 0), RECO_OK);
    for (size_t i = 0; i < 4; ++i)
        assert_true(reco_rng_uniform(&r) == expect_uniform[i]);
}

static void test_rng_normal_gumbel_reference(void **state)
{
    (void)state;
    /* Pinned draws catch what moments cannot: the normal is symmetric, so a sign flip of the
     * result (or of the angle) leaves every statistic unchanged but changes these values.
     * Tolerance 1e-12: both sides call the same libm; allows an ulp or two of difference. */
    static const double expect_normal[6] = {-0.5890183134283694,  -0.4251371453354534,
                                            -0.23281823489512973, 0.36933479681739867,
                                            1.494494761313988,    1.193660701879531};
    static const double expect_gumbel[4] = {0.3135732669564565, -0.1004475817916224,
                                            1.702112976967233, 0.7573290658466088};
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 42, 0), RECO_OK);
    for (size_t i = 0; i < 6; ++i)
        assert_float_equal(reco_rng_normal(&r), expect_normal[i], 1e-12);
    assert_int_equal(reco_rng_seed(&r, 42, 0), RECO_OK);
    for (size_t i = 0; i < 4; ++i)
        assert_float_equal(reco_rng_gumbel(&r), expect_gumbel[i], 1e-12);
}

static void test_rng_jump_reference(void **state)
{
    (void)state;
    /* State after 2^128 steps from {1,2,3,4}, computed by GF(2) matrix powering (script
     * above), then the first two outputs from there. */
    static const uint64_t expect_state[4] = {
        UINT64_C(0x8c7a153956b5f3d1), UINT64_C(0x701f1a713401d85e), UINT64_C(0x6527f66a65469085),
        UINT64_C(0x8386b786c4408050)};
    reco_rng r = {{1, 2, 3, 4}};
    reco_rng copy = r;
    reco_rng_jump(&r);
    for (size_t i = 0; i < 4; ++i)
        assert_int_equal(r.s[i], expect_state[i]);
    assert_int_equal(reco_rng_u64(&r), UINT64_C(0xbbd2f312298443d8));
    assert_int_equal(reco_rng_u64(&r), UINT64_C(0x62e57db2d5706577));

    /* Deterministic, and it changes the state. */
    reco_rng a, b;
    assert_int_equal(reco_rng_seed(&a, 7, 3), RECO_OK);
    b = a;
    reco_rng_jump(&a);
    reco_rng_jump(&b);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(reco_rng_seed(&b, 7, 3), RECO_OK);
    assert_memory_not_equal(&a, &b, sizeof a);

    /* Twice from {1,2,3,4} differs from once; NULL is ignored. */
    reco_rng_jump(&copy);
    reco_rng_jump(&copy);
    assert_memory_not_equal(copy.s, expect_state, sizeof expect_state);
    reco_rng_jump(NULL);
}

/* ---- determinism and seeding ---------------------------------------------------------- */

static void test_rng_determinism(void **state)
{
    (void)state;
    reco_rng a, b;
    assert_int_equal(reco_rng_seed(&a, 12345, 6), RECO_OK);
    assert_int_equal(reco_rng_seed(&b, 12345, 6), RECO_OK);
    assert_memory_equal(&a, &b, sizeof a);
    const float w[4] = {1.0f, 0.5f, 0.0f, 2.0f};
    uint32_t pa[16], pb[16];
    for (size_t i = 0; i < 2000; ++i) {
        assert_int_equal(reco_rng_u64(&a), reco_rng_u64(&b));
        assert_int_equal(reco_rng_below(&a, i + 1), reco_rng_below(&b, i + 1));
        assert_true(reco_rng_normal(&a) == reco_rng_normal(&b));
        assert_true(reco_rng_gumbel(&a) == reco_rng_gumbel(&b));
        assert_true(reco_rng_uniformf(&a) == reco_rng_uniformf(&b));
        size_t ka = 0, kb = 0;
        assert_int_equal(reco_rng_categorical(&ka, &a, w, 4), RECO_OK);
        assert_int_equal(reco_rng_categorical(&kb, &b, w, 4), RECO_OK);
        assert_int_equal(ka, kb);
        assert_int_equal(reco_rng_sample(pa, &a, 1000, 16), RECO_OK);
        assert_int_equal(reco_rng_sample(pb, &b, 1000, 16), RECO_OK);
        assert_memory_equal(pa, pb, sizeof pa);
    }

    /* Different streams and different seeds give different sequences. */
    reco_rng s0, s1, t1;
    assert_int_equal(reco_rng_seed(&s0, 42, 0), RECO_OK);
    assert_int_equal(reco_rng_seed(&s1, 42, 1), RECO_OK);
    assert_int_equal(reco_rng_seed(&t1, 43, 0), RECO_OK);
    for (size_t i = 0; i < 100; ++i) {
        const uint64_t x = reco_rng_u64(&s0), y = reco_rng_u64(&s1), z = reco_rng_u64(&t1);
        assert_int_not_equal(x, y);
        assert_int_not_equal(x, z);
    }
}

static void test_rng_seed_distinct_nonzero(void **state)
{
    (void)state;
    /* 4096 streams of one seed, 4096 seeds of one stream, and 4096 consecutive seeds: all
     * first outputs distinct (a collision among 12288 random 64-bit values has probability
     * ~4e-12) and no zero state. Includes swapped pairs (99, i) / (i, 99). */
    enum { COUNT = 4096 };
    static uint64_t first[3 * COUNT];
    const uint64_t extremes[] = {0, 1, UINT64_MAX, UINT64_C(0x8000000000000000)};
    for (size_t i = 0; i < 4; ++i) {
        for (size_t j = 0; j < 4; ++j) {
            reco_rng r;
            assert_int_equal(reco_rng_seed(&r, extremes[i], extremes[j]), RECO_OK);
            assert_true((r.s[0] | r.s[1] | r.s[2] | r.s[3]) != 0);
        }
    }
    for (uint64_t i = 0; i < COUNT; ++i) {
        reco_rng r;
        assert_int_equal(reco_rng_seed(&r, 99, i), RECO_OK);
        assert_true((r.s[0] | r.s[1] | r.s[2] | r.s[3]) != 0);
        first[i] = reco_rng_u64(&r);
        assert_int_equal(reco_rng_seed(&r, i + 100, 99), RECO_OK); /* mirrors of (99, i) */
        first[COUNT + i] = reco_rng_u64(&r);
        assert_int_equal(reco_rng_seed(&r, i + 1000000, 0), RECO_OK);
        first[2 * COUNT + i] = reco_rng_u64(&r);
    }
    qsort(first, 3 * COUNT, sizeof first[0], cmp_u64);
    for (size_t i = 1; i < 3 * COUNT; ++i)
        assert_int_not_equal(first[i - 1], first[i]);
}

/* ---- uniform ------------------------------------------------------------------------------ */

static void test_rng_uniform_distribution(void **state)
{
    (void)state;
    enum { N = 1000000 };
    reco_rng r;
    for (int flt = 0; flt < 2; ++flt) {
        assert_int_equal(reco_rng_seed(&r, 2024, (uint64_t)flt), RECO_OK);
        uint64_t bins[10] = {0};
        double sum = 0, sum2 = 0;
        for (size_t i = 0; i < N; ++i) {
            const double u = flt ? (double)reco_rng_uniformf(&r) : reco_rng_uniform(&r);
            if (!(u >= 0.0 && u < 1.0))
                fail_msg("uniform%s out of [0, 1): %.17g", flt ? "f" : "", u);
            sum += u;
            sum2 += (u - 0.5) * (u - 0.5);
            bins[(size_t)(u * 10.0)]++;
        }
        /* mean: SE = sqrt(1/12 / N) = 2.9e-4, tolerance 1.5e-3 (5.2 SE) */
        assert_near(sum / N, 0.5, 1.5e-3);
        /* variance: SE = sqrt((1/80 - 1/144) / N) = 7.5e-5, tolerance 4e-4 (5.4 SE) */
        assert_near(sum2 / N, 1.0 / 12.0, 4e-4);
        /* 10 equal bins: df 9, critical 44.81 at p = 1e-6 */
        assert_chi_square_below(chi_square_uniform(bins, 10), CHI2_DF9);
    }
}

static void test_rng_extreme_draws(void **state)
{
    (void)state;
    /* The largest and smallest raw outputs, reached by crafting the state: every floating
     * sampler must stay in range and finite (no log(0), no U == 1). */
    reco_rng r;
    set_next_output(&r, UINT64_MAX);
    assert_int_equal(reco_rng_u64(&r), UINT64_MAX); /* the crafting itself works */
    set_next_output(&r, UINT64_MAX);
    assert_true(reco_rng_uniform(&r) == 1.0 - 0x1.0p-53);
    set_next_output(&r, UINT64_MAX);
    assert_true(reco_rng_uniformf(&r) == 1.0f - 0x1.0p-24f);
    set_next_output(&r, UINT64_MAX);
    assert_true(isfinite(reco_rng_gumbel(&r)));
    set_next_output(&r, UINT64_MAX);
    assert_true(isfinite(reco_rng_normal(&r)));
    set_next_output(&r, UINT64_MAX);
    assert_int_equal(reco_rng_bernoulli(&r, 1.0), 1);
    set_next_output(&r, UINT64_MAX);
    assert_int_equal(reco_rng_below(&r, 10), 9);

    set_next_output(&r, 0);
    assert_int_equal(reco_rng_u64(&r), 0);
    set_next_output(&r, 0);
    assert_true(reco_rng_uniform(&r) == 0.0);
    set_next_output(&r, 0);
    assert_true(reco_rng_uniformf(&r) == 0.0f);
    set_next_output(&r, 0);
    const double g = reco_rng_gumbel(&r);
    assert_true(isfinite(g) && g < 0.0);
    set_next_output(&r, 0); /* u1 at its smallest: the largest |normal| */
    const double z = reco_rng_normal(&r);
    assert_true(isfinite(z) && fabs(z) <= 8.6);
    set_next_output(&r, 0);
    assert_int_equal(reco_rng_bernoulli(&r, 0.0), 0);
    set_next_output(&r, 0);
    assert_int_equal(reco_rng_bernoulli(&r, 1e-300), 1);
}

/* ---- below ------------------------------------------------------------------------------- */

static void test_rng_below_edges(void **state)
{
    (void)state;
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 5, 0), RECO_OK);
    for (size_t i = 0; i < 1000; ++i) {
        assert_int_equal(reco_rng_below(&r, 0), 0);
        assert_int_equal(reco_rng_below(&r, 1), 0);
        assert_true(reco_rng_below(&r, 2) < 2);
        assert_true(reco_rng_below(&r, UINT64_MAX) < UINT64_MAX);
        assert_true(reco_rng_below(&r, UINT64_C(1) << 63) < (UINT64_C(1) << 63));
        assert_true(reco_rng_below(&r, UINT64_C(0x8000000000000001)) <=
                    UINT64_C(0x8000000000000000));
    }
}

static void test_rng_below_unbiased(void **state)
{
    (void)state;
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 77, 0), RECO_OK);

    uint64_t c7[7] = {0};
    for (size_t i = 0; i < 700000; ++i)
        c7[reco_rng_below(&r, 7)]++;
    /* 7 equal cells: df 6, critical 38.26 at p = 1e-6 */
    assert_chi_square_below(chi_square_uniform(c7, 7), CHI2_DF6);

    /* Two large bounds that are not powers of two, where a biased method is far off:
     * - n = 2/3 * 2^64: `x % n` makes the lower half of [0, n) twice as likely (range bins);
     * - n = 3 * 2^62: the high word of x * n without Lemire's rejection is floor(3x / 4), which
     *   gives multiples of 3 two preimages in four, i.e. P(v % 3 == 0) = 1/2 (residue bins;
     *   2^64 mod n = 2^62, so a quarter of the draws are rejected). */
    const uint64_t bounds[2] = {UINT64_C(0xaaaaaaaaaaaaaaaa), UINT64_C(0xc000000000000000)};
    for (size_t c = 0; c < 2; ++c) {
        const uint64_t n = bounds[c];
        uint64_t range[10] = {0}, residue[3] = {0};
        for (size_t i = 0; i < 1000000; ++i) {
            const uint64_t v = reco_rng_below(&r, n);
            assert_true(v < n);
            const size_t b = (size_t)((double)v / (double)n * 10.0);
            range[b > 9 ? 9 : b]++;
            residue[v % 3]++;
        }
        /* 10 equal bins: df 9, critical 44.81 at p = 1e-6 */
        assert_chi_square_below(chi_square_uniform(range, 10), CHI2_DF9);
        /* residues mod 3 equally likely (exactly for 3 * 2^62, to 1e-19 for the other):
         * df 2, critical 27.63 at p = 1e-6 */
        assert_chi_square_below(chi_square_uniform(residue, 3), CHI2_DF2);
    }
}

/* ---- normal and Gumbel ------------------------------------------------------------------ */

static void test_rng_normal_distribution(void **state)
{
    (void)state;
    enum { N = 1000000 };
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 31337, 0), RECO_OK);
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    size_t below0 = 0, below1 = 0;
    for (size_t i = 0; i < N; ++i) {
        const double x = reco_rng_normal(&r);
        if (!isfinite(x))
            fail_msg("normal draw %zu is not finite", i);
        s1 += x;
        s2 += x * x;
        s3 += x * x * x;
        s4 += x * x * x * x;
        below0 += x < 0.0;
        below1 += x < 1.0;
    }
    const double mean = s1 / N;
    const double var = s2 / N - mean * mean;
    const double m3 = s3 / N - 3 * mean * s2 / N + 2 * mean * mean * mean;
    const double m4 =
        s4 / N - 4 * mean * s3 / N + 6 * mean * mean * s2 / N - 3 * mean * mean * mean * mean;
    /* mean: SE = 1/sqrt(N) = 1e-3, tolerance 5e-3 (5 SE) */
    assert_near(mean, 0.0, 5e-3);
    /* variance: SE = sqrt(2/N) = 1.41e-3, tolerance 8e-3 (5.7 SE) */
    assert_near(var, 1.0, 8e-3);
    /* skewness: SE = sqrt(6/N) = 2.45e-3, tolerance 0.015 (6 SE) */
    assert_near(m3 / pow(var, 1.5), 0.0, 0.015);
    /* kurtosis: SE = sqrt(24/N) = 4.9e-3, tolerance 0.03 (6 SE) */
    assert_near(m4 / (var * var), 3.0, 0.03);
    /* P(x < 0) = 0.5: SE = 5e-4, tolerance 2.5e-3 (5 SE) */
    assert_near((double)below0 / N, 0.5, 2.5e-3);
    /* P(x < 1) = Phi(1) = 0.841345: SE = 3.65e-4, tolerance 2e-3 (5.5 SE) */
    assert_near((double)below1 / N, 0.8413447460685429, 2e-3);
}

static void test_rng_gumbel_distribution(void **state)
{
    (void)state;
    enum { N = 1000000 };
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 4242, 0), RECO_OK);
    double s1 = 0, s2 = 0;
    size_t below0 = 0;
    for (size_t i = 0; i < N; ++i) {
        const double g = reco_rng_gumbel(&r);
        if (!isfinite(g))
            fail_msg("gumbel draw %zu is not finite", i);
        s1 += g;
        s2 += g * g;
        below0 += g < 0.0;
    }
    const double mean = s1 / N, var = s2 / N - mean * mean;
    /* mean = Euler's gamma: SE = sqrt(pi^2/6 / N) = 1.28e-3, tolerance 7e-3 (5.5 SE) */
    assert_near(mean, 0.57721566490153286, 7e-3);
    /* variance = pi^2/6: SE = sqrt(var^2 (kurtosis 5.4 - 1) / N) = 3.45e-3, tolerance 0.02
     * (5.8 SE) */
    assert_near(var, M_PI * M_PI / 6.0, 0.02);
    /* P(G < 0) = exp(-1) = 0.3679: SE = 4.8e-4, tolerance 2.5e-3 (5.2 SE) */
    assert_near((double)below0 / N, exp(-1.0), 2.5e-3);
}

/* ---- Bernoulli ----------------------------------------------------------------------------- */

static void test_rng_bernoulli(void **state)
{
    (void)state;
    enum { N = 1000000 };
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 8, 0), RECO_OK);
    size_t ones = 0;
    for (size_t i = 0; i < N; ++i) {
        const int b = reco_rng_bernoulli(&r, 0.3);
        assert_true(b == 0 || b == 1);
        ones += (size_t)b;
    }
    /* p = 0.3: SE = sqrt(0.21 / N) = 4.6e-4, tolerance 2.5e-3 (5.5 SE) */
    assert_near((double)ones / N, 0.3, 2.5e-3);

    for (size_t i = 0; i < 100000; ++i) {
        assert_int_equal(reco_rng_bernoulli(&r, 0.0), 0);
        assert_int_equal(reco_rng_bernoulli(&r, -0.0), 0);
        assert_int_equal(reco_rng_bernoulli(&r, 1.0), 1);
    }

    const reco_rng before = r;
    assert_reco_error(reco_rng_bernoulli(&r, NAN), RECO_EINVAL, "reco_rng_bernoulli");
    assert_reco_error(reco_rng_bernoulli(&r, -0.1), RECO_EINVAL, "not in [0, 1]");
    assert_reco_error(reco_rng_bernoulli(&r, 1.1), RECO_EINVAL, "not in [0, 1]");
    assert_reco_error(reco_rng_bernoulli(&r, INFINITY), RECO_EINVAL, "not in [0, 1]");
    assert_reco_error(reco_rng_bernoulli(NULL, 0.5), RECO_EINVAL, "rng is NULL");
    assert_memory_equal(&r, &before, sizeof r);
}

/* ---- categorical ------------------------------------------------------------------------- */

static void test_rng_categorical_distribution(void **state)
{
    (void)state;
    enum { N = 1000000 };
    const float w[6] = {1.0f, 2.0f, 3.0f, 4.0f, 0.0f, 10.0f};
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 606, 0), RECO_OK);
    uint64_t counts[6] = {0};
    for (size_t i = 0; i < N; ++i) {
        size_t k = 99;
        assert_int_equal(reco_rng_categorical(&k, &r, w, 6), RECO_OK);
        assert_true(k < 6);
        counts[k]++;
    }
    assert_int_equal(counts[4], 0); /* zero weight: never drawn */
    const uint64_t live[5] = {counts[0], counts[1], counts[2], counts[3], counts[5]};
    const double probs[5] = {0.05, 0.10, 0.15, 0.20, 0.50};
    /* 5 non-zero cells: df 4, critical 33.38 at p = 1e-6 */
    assert_chi_square_below(chi_square(live, probs, 5), CHI2_DF4);
}

static void test_rng_categorical_edges(void **state)
{
    (void)state;
    reco_rng r;
    size_t k = 0;
    /* The largest U lands on the last positive weight, never on a trailing zero or n. */
    const float w1[7] = {1.0f, 2.0f, 3.0f, 4.0f, 0.0f, 10.0f, 0.0f};
    set_next_output(&r, UINT64_MAX);
    assert_int_equal(reco_rng_categorical(&k, &r, w1, 7), RECO_OK);
    assert_int_equal(k, 5);
    /* The smallest U (0) skips leading zero weights. */
    const float w2[4] = {0.0f, 0.0f, 2.0f, 1.0f};
    set_next_output(&r, 0);
    assert_int_equal(reco_rng_categorical(&k, &r, w2, 4), RECO_OK);
    assert_int_equal(k, 2);

    assert_int_equal(reco_rng_seed(&r, 1, 1), RECO_OK);
    const float one[1] = {0.25f};
    const float only3[5] = {0.0f, 0.0f, 0.0f, 5.0f, 0.0f};
    const float denormal[3] = {0.0f, 1e-45f, 0.0f};
    const float skewed[3] = {1e-30f, 1e30f, 0.0f};
    for (size_t i = 0; i < 10000; ++i) {
        assert_int_equal(reco_rng_categorical(&k, &r, one, 1), RECO_OK);
        assert_int_equal(k, 0);
        assert_int_equal(reco_rng_categorical(&k, &r, only3, 5), RECO_OK);
        assert_int_equal(k, 3);
        assert_int_equal(reco_rng_categorical(&k, &r, denormal, 3), RECO_OK);
        assert_int_equal(k, 1);
        assert_int_equal(reco_rng_categorical(&k, &r, skewed, 3), RECO_OK);
        assert_int_equal(k, 1); /* P(0) = 1e-60 */
    }
}

static void test_rng_categorical_invalid(void **state)
{
    (void)state;
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 3, 0), RECO_OK);
    const reco_rng before = r;
    size_t k = 12345;
    const float neg[3] = {1.0f, 2.0f, -1.0f};
    const float nan_w[3] = {1.0f, NAN, 1.0f};
    const float inf_w[3] = {INFINITY, 1.0f, 1.0f};
    const float ninf_w[2] = {1.0f, -INFINITY};
    const float zeros[3] = {0.0f, 0.0f, -0.0f};
    assert_reco_error(reco_rng_categorical(&k, &r, neg, 3), RECO_EINVAL,
                      "reco_rng_categorical: weight 2 is negative");
    assert_reco_error(reco_rng_categorical(&k, &r, nan_w, 3), RECO_EINVAL, "weight 1 is NaN");
    assert_reco_error(reco_rng_categorical(&k, &r, inf_w, 3), RECO_EINVAL, "weight 0 is infinite");
    assert_reco_error(reco_rng_categorical(&k, &r, ninf_w, 2), RECO_EINVAL, "weight 1 is negative");
    assert_reco_error(reco_rng_categorical(&k, &r, zeros, 3), RECO_EINVAL,
                      "all 3 weights are zero");
    assert_reco_error(reco_rng_categorical(&k, &r, neg, 0), RECO_EINVAL, "n is 0");
    assert_reco_error(reco_rng_categorical(NULL, &r, neg, 3), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_rng_categorical(&k, NULL, neg, 3), RECO_EINVAL, "rng is NULL");
    assert_reco_error(reco_rng_categorical(&k, &r, NULL, 3), RECO_EINVAL, "weights is NULL");
    /* A failed call writes nothing and draws nothing. */
    assert_int_equal(k, 12345);
    assert_memory_equal(&r, &before, sizeof r);
}

/* ---- categorical_logits ------------------------------------------------------------------ */

static void test_rng_categorical_logits_distribution(void **state)
{
    (void)state;
    enum { N = 400000 };
    const float logits[5] = {1.0f, 2.0f, 0.5f, -INFINITY, 3.0f};
    const float temps[3] = {1.0f, 2.5f, 0.4f};
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 777, 0), RECO_OK);
    for (size_t t = 0; t < 3; ++t) {
        uint64_t counts[5] = {0};
        for (size_t i = 0; i < N; ++i) {
            size_t k = 99;
            assert_int_equal(reco_rng_categorical_logits(&k, &r, logits, 5, temps[t]), RECO_OK);
            assert_true(k < 5);
            counts[k]++;
        }
        assert_int_equal(counts[3], 0); /* -INFINITY: excluded */
        const size_t idx[4] = {0, 1, 2, 4};
        double z = 0.0, probs[4];
        for (size_t j = 0; j < 4; ++j)
            z += exp((double)logits[idx[j]] / temps[t]);
        for (size_t j = 0; j < 4; ++j)
            probs[j] = exp((double)logits[idx[j]] / temps[t]) / z;
        const uint64_t live[4] = {counts[0], counts[1], counts[2], counts[4]};
        /* softmax(logits / T) over the 4 finite entries: df 3, critical 30.66 at p = 1e-6 */
        assert_chi_square_below(chi_square(live, probs, 4), CHI2_DF3);
    }

    /* Extreme temperatures and magnitudes stay well defined. */
    const float big[3] = {-1e38f, 1e38f, 0.0f};
    const float pair[2] = {0.0f, 1.0f};
    const float single[3] = {-INFINITY, 5.0f, -INFINITY};
    for (size_t i = 0; i < 10000; ++i) {
        size_t k = 99;
        assert_int_equal(reco_rng_categorical_logits(&k, &r, big, 3, 1e-30f), RECO_OK);
        assert_int_equal(k, 1);
        assert_int_equal(reco_rng_categorical_logits(&k, &r, pair, 2, 1e-3f), RECO_OK);
        assert_int_equal(k, 1); /* P(0) = exp(-1000) */
        assert_int_equal(reco_rng_categorical_logits(&k, &r, single, 3, 1.0f), RECO_OK);
        assert_int_equal(k, 1);
    }
}

static void test_rng_categorical_logits_invalid(void **state)
{
    (void)state;
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 4, 0), RECO_OK);
    const reco_rng before = r;
    size_t k = 12345;
    const float ok[3] = {0.0f, 1.0f, 2.0f};
    const float nan_l[3] = {0.0f, NAN, 2.0f};
    const float pinf[3] = {0.0f, 1.0f, INFINITY};
    const float all_out[2] = {-INFINITY, -INFINITY};
    assert_reco_error(reco_rng_categorical_logits(&k, &r, nan_l, 3, 1.0f), RECO_EINVAL,
                      "reco_rng_categorical_logits: logit 1 is NaN");
    assert_reco_error(reco_rng_categorical_logits(&k, &r, pinf, 3, 1.0f), RECO_EINVAL,
                      "logit 2 is +infinity");
    assert_reco_error(reco_rng_categorical_logits(&k, &r, all_out, 2, 1.0f), RECO_EINVAL,
                      "all 2 logits are -infinity");
    const float bad_t[5] = {0.0f, -0.0f, -1.0f, NAN, INFINITY};
    for (size_t i = 0; i < 5; ++i)
        assert_reco_error(reco_rng_categorical_logits(&k, &r, ok, 3, bad_t[i]), RECO_EINVAL,
                          "temperature");
    assert_reco_error(reco_rng_categorical_logits(&k, &r, ok, 0, 1.0f), RECO_EINVAL, "n is 0");
    assert_reco_error(reco_rng_categorical_logits(NULL, &r, ok, 3, 1.0f), RECO_EINVAL,
                      "out is NULL");
    assert_reco_error(reco_rng_categorical_logits(&k, NULL, ok, 3, 1.0f), RECO_EINVAL,
                      "rng is NULL");
    assert_reco_error(reco_rng_categorical_logits(&k, &r, NULL, 3, 1.0f), RECO_EINVAL,
                      "logits is NULL");
    assert_int_equal(k, 12345);
    assert_memory_equal(&r, &before, sizeof r);
}

/* ---- permutations -------------------------------------------------------------------------- */

/* Counts permutations of 4 by the code 64 a0 + 16 a1 + 4 a2 + a3, after checking each is one. */
static void count_perm4(uint64_t *counts, const uint32_t *p)
{
    unsigned seen = 0;
    for (size_t i = 0; i < 4; ++i) {
        assert_true(p[i] < 4);
        seen |= 1u << p[i];
    }
    assert_int_equal(seen, 0xfu);
    counts[p[0] * 64 + p[1] * 16 + p[2] * 4 + p[3]]++;
}

static void check_perm4_uniform(const uint64_t *counts)
{
    uint64_t cells[24];
    size_t m = 0;
    for (size_t c = 0; c < 256; ++c) {
        if (counts[c] > 0) {
            assert_true(m < 24);
            cells[m++] = counts[c];
        }
    }
    assert_int_equal(m, 24); /* every permutation appears */
    /* 24 equal cells: df 23, critical 70.55 at p = 1e-6 */
    assert_chi_square_below(chi_square_uniform(cells, 24), CHI2_DF23);
}

static void test_rng_permutation_uniform(void **state)
{
    (void)state;
    enum { N = 240000 };
    static uint64_t by_perm[256], by_shuffle[256];
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 2468, 0), RECO_OK);
    for (size_t i = 0; i < N; ++i) {
        uint32_t p[4];
        assert_int_equal(reco_rng_permutation(p, &r, 4), RECO_OK);
        count_perm4(by_perm, p);
        uint32_t v[4] = {0, 1, 2, 3};
        assert_int_equal(reco_rng_shuffle_u32(&r, v, 4), RECO_OK);
        count_perm4(by_shuffle, v);
    }
    check_perm4_uniform(by_perm);
    check_perm4_uniform(by_shuffle);
}

static void test_rng_permutation_edges(void **state)
{
    (void)state;
    enum { N = 1000 };
    static uint32_t p[N];
    static unsigned char seen[N];
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 9, 0), RECO_OK);
    assert_int_equal(reco_rng_permutation(p, &r, N), RECO_OK);
    for (size_t i = 0; i < N; ++i) {
        assert_true(p[i] < N);
        assert_int_equal(seen[p[i]], 0);
        seen[p[i]] = 1;
    }
    /* A shuffle keeps the multiset. */
    uint64_t sum = 0;
    assert_int_equal(reco_rng_shuffle_u32(&r, p, N), RECO_OK);
    for (size_t i = 0; i < N; ++i)
        sum += p[i];
    assert_int_equal(sum, (uint64_t)N * (N - 1) / 2);

    uint32_t one = 7;
    assert_int_equal(reco_rng_permutation(&one, &r, 1), RECO_OK);
    assert_int_equal(one, 0);
    assert_int_equal(reco_rng_shuffle_u32(&r, &one, 1), RECO_OK);
    assert_int_equal(one, 0);
    assert_int_equal(reco_rng_permutation(NULL, &r, 0), RECO_OK);
    assert_int_equal(reco_rng_shuffle_u32(&r, NULL, 0), RECO_OK);
#if SIZE_MAX > UINT32_MAX
    uint32_t untouched = 5;
    assert_reco_error(reco_rng_permutation(&untouched, &r, (size_t)UINT32_MAX + 1), RECO_EINVAL,
                      "exceeds UINT32_MAX");
    assert_int_equal(untouched, 5);
#endif
}

/* ---- sample ------------------------------------------------------------------------------- */

/* Runs `trials` samples of k from n and checks: values in range and distinct; each value's
 * inclusion frequency k/n; the value in slot 0 uniform over [0, n); the slot of value 0, when
 * included, uniform over [0, k). The two last catch an unshuffled output (Floyd's early slots
 * hold small values, Algorithm S is sorted). */
static void check_sample(uint32_t n, uint32_t k, size_t trials, double crit_n, double crit_k)
{
    static uint32_t out[512];
    static unsigned char seen[512];
    static uint64_t included[512], slot0[512], slot_of0[512];
    assert_true(n <= 512 && k <= n && k >= 2 && k < n);
    memset(included, 0, sizeof included);
    memset(slot0, 0, sizeof slot0);
    memset(slot_of0, 0, sizeof slot_of0);
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 1000 + n, k), RECO_OK);
    for (size_t t = 0; t < trials; ++t) {
        assert_int_equal(reco_rng_sample(out, &r, n, k), RECO_OK);
        memset(seen, 0, sizeof seen);
        for (size_t i = 0; i < k; ++i) {
            assert_true(out[i] < n);
            assert_int_equal(seen[out[i]], 0);
            seen[out[i]] = 1;
            included[out[i]]++;
            if (out[i] == 0)
                slot_of0[i]++;
        }
        slot0[out[0]]++;
    }
    /* Inclusion counts are not multinomial (each trial adds k distinct values): the indicator
     * covariance is p(1-p) n/(n-1) (I - J/n) with p = k/n, so Pearson's statistic is
     * (1-p) n/(n-1) times a chi-square with n-1 df; rescale before comparing. */
    const double p = (double)k / n;
    const double scale = (1.0 - p) * n / (n - 1.0);
    assert_chi_square_below(chi_square_uniform(included, n) / scale, crit_n);
    assert_chi_square_below(chi_square_uniform(slot0, n), crit_n);
    assert_chi_square_below(chi_square_uniform(slot_of0, k), crit_k);
}

static void test_rng_sample_floyd(void **state)
{
    (void)state;
    /* k = 5 <= 64: Floyd's branch. n = 50: df 49, critical 111.14; k = 5: df 4, critical 33.38
     * (p = 1e-6). */
    check_sample(50, 5, 200000, CHI2_DF49, CHI2_DF4);
}

static void test_rng_sample_selection(void **state)
{
    (void)state;
    /* k = 80 > 64 and k^2 = 6400 > 4n: selection sampling. n = 100: df 99, critical 180.79;
     * k = 80: df 79, critical 153.71 (p = 1e-6). */
    check_sample(100, 80, 20000, CHI2_DF99, CHI2_DF79);
}

static void test_rng_sample_floyd_hashed(void **state)
{
    (void)state;
    /* k = 100 > 64 and 4k <= n = 400: Floyd with the hash set. n = 400: df 399, critical
     * 548.1 (p = 1e-6, Wilson-Hilferty); k = 100: df 99, critical 180.79. */
    check_sample(400, 100, 20000, 548.1, CHI2_DF99);
}

static void test_rng_sample_edges(void **state)
{
    (void)state;
    static uint32_t out[4096];
    static unsigned char seen[100000];
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 10, 0), RECO_OK);

    /* k == n in both branches: a permutation. */
    const uint32_t full[2] = {5, 200};
    for (size_t c = 0; c < 2; ++c) {
        memset(seen, 0, sizeof seen);
        assert_int_equal(reco_rng_sample(out, &r, full[c], full[c]), RECO_OK);
        for (size_t i = 0; i < full[c]; ++i) {
            assert_true(out[i] < full[c]);
            assert_int_equal(seen[out[i]], 0);
            seen[out[i]] = 1;
        }
    }
    /* Floyd's branch past k = 64 (k^2 <= 4n), and a huge population. */
    memset(seen, 0, sizeof seen);
    assert_int_equal(reco_rng_sample(out, &r, 100000, 600), RECO_OK);
    for (size_t i = 0; i < 600; ++i) {
        assert_true(out[i] < 100000);
        assert_int_equal(seen[out[i]], 0);
        seen[out[i]] = 1;
    }
    uint64_t big[64];
    assert_int_equal(reco_rng_sample(out, &r, UINT32_MAX, 64), RECO_OK);
    for (size_t i = 0; i < 64; ++i)
        big[i] = out[i];
    qsort(big, 64, sizeof big[0], cmp_u64);
    for (size_t i = 1; i < 64; ++i)
        assert_true(big[i - 1] < big[i]);
    assert_true(big[63] < UINT32_MAX);

    /* k = 0 writes nothing (out may be NULL); k > n fails and writes nothing. */
    out[0] = 77;
    assert_int_equal(reco_rng_sample(out, &r, 10, 0), RECO_OK);
    assert_int_equal(reco_rng_sample(NULL, &r, 10, 0), RECO_OK);
    assert_int_equal(reco_rng_sample(out, &r, 0, 0), RECO_OK);
    assert_reco_error(reco_rng_sample(out, &r, 10, 11), RECO_EINVAL,
                      "reco_rng_sample: k = 11 exceeds n = 10");
    assert_reco_error(reco_rng_sample(out, &r, 0, 1), RECO_EINVAL, "exceeds");
    assert_int_equal(out[0], 77);
}

/* ---- independence ------------------------------------------------------------------------- */

static void fill_uniform(double *x, reco_rng *r)
{
    for (size_t i = 0; i < N_CORR; ++i)
        x[i] = reco_rng_uniform(r);
}

static void test_rng_stream_independence(void **state)
{
    (void)state;
    /* Pearson correlation of paired draws: SE = 1/sqrt(N) = 1e-3, bound 5/sqrt(N) = 5e-3. */
    const double bound = 5.0 / sqrt((double)N_CORR);
    reco_rng a, b;

    assert_int_equal(reco_rng_seed(&a, 42, 0), RECO_OK);
    assert_int_equal(reco_rng_seed(&b, 42, 1), RECO_OK);
    fill_uniform(corr_x, &a);
    fill_uniform(corr_y, &b);
    assert_near(correlation(corr_x, corr_y, N_CORR), 0.0, bound); /* streams 0 and 1 */

    assert_int_equal(reco_rng_seed(&a, 1, 0), RECO_OK);
    assert_int_equal(reco_rng_seed(&b, 2, 0), RECO_OK);
    fill_uniform(corr_x, &a);
    fill_uniform(corr_y, &b);
    assert_near(correlation(corr_x, corr_y, N_CORR), 0.0, bound); /* seeds 1 and 2 */

    /* Lag-1 within one stream. */
    assert_near(correlation(corr_x, corr_x + 1, N_CORR - 1), 0.0, bound);

    /* A split child against its parent's continuation. */
    reco_rng child;
    assert_int_equal(reco_rng_seed(&a, 42, 0), RECO_OK);
    assert_int_equal(reco_rng_split(&child, &a), RECO_OK);
    fill_uniform(corr_x, &child);
    fill_uniform(corr_y, &a);
    assert_near(correlation(corr_x, corr_y, N_CORR), 0.0, bound);
}

static void test_rng_split(void **state)
{
    (void)state;
    reco_rng parent, copy, c1, c2, c1_again;
    assert_int_equal(reco_rng_seed(&parent, 11, 0), RECO_OK);
    copy = parent;

    assert_int_equal(reco_rng_split(&c1, &parent), RECO_OK);
    assert_memory_not_equal(&parent, &copy, sizeof parent); /* the parent advanced */
    assert_int_equal(reco_rng_split(&c1_again, &copy), RECO_OK);
    assert_memory_equal(&c1, &c1_again, sizeof c1); /* deterministic */
    assert_memory_equal(&parent, &copy, sizeof parent);

    assert_int_equal(reco_rng_split(&c2, &parent), RECO_OK); /* twice in a row: different */
    assert_memory_not_equal(&c1, &c2, sizeof c1);

    /* The child is not the parent's continuation, nor a shifted copy of it. */
    reco_rng cont = parent;
    uint64_t from_parent[64], from_child[8];
    for (size_t i = 0; i < 64; ++i)
        from_parent[i] = reco_rng_u64(&cont);
    for (size_t i = 0; i < 8; ++i)
        from_child[i] = reco_rng_u64(&c1);
    for (size_t i = 0; i < 8; ++i)
        for (size_t j = 0; j < 64; ++j)
            assert_int_not_equal(from_child[i], from_parent[j]);
    assert_true((c1.s[0] | c1.s[1] | c1.s[2] | c1.s[3]) != 0);

    const reco_rng before = parent;
    assert_reco_error(reco_rng_split(&parent, &parent), RECO_EINVAL, "aliases");
    assert_reco_error(reco_rng_split(NULL, &parent), RECO_EINVAL, "child_out is NULL");
    assert_reco_error(reco_rng_split(&c2, NULL), RECO_EINVAL, "parent is NULL");
    assert_memory_equal(&parent, &before, sizeof parent);
}

/* ---- NULL arguments ---------------------------------------------------------------------- */

#define assert_null_rejected(call, fn)                                                             \
    do {                                                                                           \
        reco_error_clear();                                                                        \
        assert_reco_error((call), RECO_EINVAL, fn);                                                \
        assert_true(strlen(reco_error_message()) > strlen(fn));                                    \
    } while (0)

static void test_rng_null_arguments(void **state)
{
    (void)state;
    reco_rng r;
    assert_int_equal(reco_rng_seed(&r, 1, 2), RECO_OK);
    size_t k;
    const float w[2] = {1.0f, 1.0f};
    uint32_t buf[4] = {0, 1, 2, 3};

    assert_null_rejected(reco_rng_seed(NULL, 1, 2), "reco_rng_seed");
    assert_null_rejected(reco_rng_split(NULL, &r), "reco_rng_split");
    assert_null_rejected(reco_rng_split(&r, NULL), "reco_rng_split");
    assert_null_rejected(reco_rng_bernoulli(NULL, 0.5), "reco_rng_bernoulli");
    assert_null_rejected(reco_rng_categorical(NULL, &r, w, 2), "reco_rng_categorical");
    assert_null_rejected(reco_rng_categorical(&k, NULL, w, 2), "reco_rng_categorical");
    assert_null_rejected(reco_rng_categorical(&k, &r, NULL, 2), "reco_rng_categorical");
    assert_null_rejected(reco_rng_categorical_logits(NULL, &r, w, 2, 1.0f),
                         "reco_rng_categorical_logits");
    assert_null_rejected(reco_rng_categorical_logits(&k, NULL, w, 2, 1.0f),
                         "reco_rng_categorical_logits");
    assert_null_rejected(reco_rng_categorical_logits(&k, &r, NULL, 2, 1.0f),
                         "reco_rng_categorical_logits");
    assert_null_rejected(reco_rng_shuffle_u32(NULL, buf, 4), "reco_rng_shuffle_u32");
    assert_null_rejected(reco_rng_shuffle_u32(NULL, NULL, 0), "reco_rng_shuffle_u32");
    assert_null_rejected(reco_rng_shuffle_u32(&r, NULL, 4), "reco_rng_shuffle_u32");
    assert_null_rejected(reco_rng_permutation(NULL, &r, 4), "reco_rng_permutation");
    assert_null_rejected(reco_rng_permutation(buf, NULL, 4), "reco_rng_permutation");
    assert_null_rejected(reco_rng_permutation(buf, NULL, 0), "reco_rng_permutation");
    assert_null_rejected(reco_rng_sample(NULL, &r, 10, 3), "reco_rng_sample");
    assert_null_rejected(reco_rng_sample(buf, NULL, 10, 3), "reco_rng_sample");
    assert_null_rejected(reco_rng_sample(buf, NULL, 10, 0), "reco_rng_sample");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rng_xoshiro_reference),
                                       cmocka_unit_test(test_rng_seed_reference),
                                       cmocka_unit_test(test_rng_normal_gumbel_reference),
                                       cmocka_unit_test(test_rng_jump_reference),
                                       cmocka_unit_test(test_rng_determinism),
                                       cmocka_unit_test(test_rng_seed_distinct_nonzero),
                                       cmocka_unit_test(test_rng_uniform_distribution),
                                       cmocka_unit_test(test_rng_extreme_draws),
                                       cmocka_unit_test(test_rng_below_edges),
                                       cmocka_unit_test(test_rng_below_unbiased),
                                       cmocka_unit_test(test_rng_normal_distribution),
                                       cmocka_unit_test(test_rng_gumbel_distribution),
                                       cmocka_unit_test(test_rng_bernoulli),
                                       cmocka_unit_test(test_rng_categorical_distribution),
                                       cmocka_unit_test(test_rng_categorical_edges),
                                       cmocka_unit_test(test_rng_categorical_invalid),
                                       cmocka_unit_test(test_rng_categorical_logits_distribution),
                                       cmocka_unit_test(test_rng_categorical_logits_invalid),
                                       cmocka_unit_test(test_rng_permutation_uniform),
                                       cmocka_unit_test(test_rng_permutation_edges),
                                       cmocka_unit_test(test_rng_sample_floyd),
                                       cmocka_unit_test(test_rng_sample_selection),
                                       cmocka_unit_test(test_rng_sample_floyd_hashed),
                                       cmocka_unit_test(test_rng_sample_edges),
                                       cmocka_unit_test(test_rng_stream_independence),
                                       cmocka_unit_test(test_rng_split),
                                       cmocka_unit_test(test_rng_null_arguments)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
