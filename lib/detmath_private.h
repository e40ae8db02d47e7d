/* Elementary functions whose results do not depend on the CPU (docs/determinism.md).
 *
 * glibc 2.36 on x86-64 picks, at load time, an FMA/AVX2 build of exp, log, pow, cos, sin,
 * expf, logf, powf, sinf, cosf (among others) when the CPU has those instructions, and a
 * baseline SSE2 build otherwise (ifuncs). Neither is correctly rounded, and the two builds round
 * their intermediate sums differently, so the same call can differ in the last bit between two
 * machines — enough to change a seeded run after a few thousand steps. These replacements are
 * plain C evaluated in a fixed order: the library is compiled with -ffp-contract=off (no fused
 * multiply-add, whichever clone of a caller inlines them), so every x86-64 CPU computes the
 * same bits. glibc's log1p, log1pf, tanh and erf are not dispatched and stay in use.
 *
 * Accuracy (tests/test_detmath.c measures it against glibc on random and edge inputs):
 *   reco__exp, reco__log: within 1 ulp of the exact value (as glibc's);
 *   reco__cos: absolute error below 2^-52 for |x| <= 2^20 (larger arguments stay deterministic
 *     but lose accuracy; the library calls it on [0, 2 pi));
 *   reco__pow: relative error within (2 + 2 |y ln x|) ulp (exp of y log x in double); integer
 *     exponents up to 64 in magnitude by repeated squaring (exact where the partial products
 *     are representable, within about 2 log2|y| ulp otherwise);
 *   reco__expf, reco__powf: computed in double and rounded once to float, within 1 ulp (almost
 *     always the correctly rounded float).
 * Special values follow C99 Annex F where the library can meet them (NaN, +-inf, 0, overflow
 * to inf, underflow to 0 through the subnormals); reco__pow of a negative base with a
 * non-integer exponent is NaN, as pow's. */
#ifndef RECO_DETMATH_PRIVATE_H
#define RECO_DETMATH_PRIVATE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 2^k as a double, for k in [-1022, 1023]. */
static inline double reco__pow2i(int k)
{
    const uint64_t bits = (uint64_t)(k + 1023) << 52;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* ln 2 split so that n * RECO__LN2_HI is exact for |n| < 2^20 (32 significant bits). */
#define RECO__LN2_HI 6.93147180369123816490e-01
#define RECO__LN2_LO 1.90821492927058770002e-10

/* exp(r) - 1 for |r| <= ln2 / 2 + a little: Taylor polynomial to r^13 (truncation below
 * 2^-60 relative), Horner order. */
static inline double reco__expm1_kernel(double r)
{
    double p = 1.0 / 6227020800.0; /* 1/13! */
    p = 1.0 / 479001600.0 + r * p;
    p = 1.0 / 39916800.0 + r * p;
    p = 1.0 / 3628800.0 + r * p;
    p = 1.0 / 362880.0 + r * p;
    p = 1.0 / 40320.0 + r * p;
    p = 1.0 / 5040.0 + r * p;
    p = 1.0 / 720.0 + r * p;
    p = 1.0 / 120.0 + r * p;
    p = 1.0 / 24.0 + r * p;
    p = 1.0 / 6.0 + r * p;
    p = 0.5 + r * p;
    return r + r * (r * p);
}

/* e^x: x = n ln2 + r (Cody-Waite), e^r by the kernel, 2^n put in by one or two exact
 * multiplications (two near overflow and in the subnormal range). */
static inline double reco__exp(double x)
{
    if (x != x)
        return x;
    if (x > 709.782712893384)
        return HUGE_VAL;
    if (x < -745.2)
        return 0.0;
    const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
    const double nf = (x * 1.4426950408889634 + shifter) - shifter;
    const double r = (x - nf * RECO__LN2_HI) - nf * RECO__LN2_LO;
    const double e = 1.0 + reco__expm1_kernel(r);
    const int n = (int)nf;
    if (n > 1023)
        return e * reco__pow2i(n - 1) * 2.0;
    if (n < -1021)
        return e * reco__pow2i(n + 1000) * reco__pow2i(-1000);
    return e * reco__pow2i(n);
}

/* ln x: x = 2^k m with m in [sqrt(2)/2, sqrt(2)), f = m - 1, s = f / (2 + f), and
 * ln(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2)) with R the atanh series from s^3
 * (to s^24: truncation below 2^-60 relative), the fdlibm arrangement. */
static inline double reco__log(double x)
{
    if (x != x)
        return x;
    if (x < 0.0)
        return NAN;
    if (x == 0.0)
        return -HUGE_VAL;
    if (x == HUGE_VAL)
        return x;
    int k = 0;
    if (x < 2.2250738585072014e-308) { /* subnormal: make it normal first */
        x *= 18014398509481984.0;       /* 2^54 */
        k = -54;
    }
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    k += (int)(bits >> 52) - 1023;
    bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        k += 1;
    }
    const double f = m - 1.0;
    const double s = f / (2.0 + f), z = s * s;
    double R = 2.0 / 25.0;
    R = 2.0 / 23.0 + z * R;
    R = 2.0 / 21.0 + z * R;
    R = 2.0 / 19.0 + z * R;
    R = 2.0 / 17.0 + z * R;
    R = 2.0 / 15.0 + z * R;
    R = 2.0 / 13.0 + z * R;
    R = 2.0 / 11.0 + z * R;
    R = 2.0 / 9.0 + z * R;
    R = 2.0 / 7.0 + z * R;
    R = 2.0 / 5.0 + z * R;
    R = 2.0 / 3.0 + z * R;
    R = z * R;
    const double hfsq = 0.5 * f * f, dk = (double)k;
    return dk * RECO__LN2_HI - ((hfsq - (s * (hfsq + R) + dk * RECO__LN2_LO)) - f);
}

/* x^y as e^(y ln x), with the special cases of C99 pow that the library can meet. */
static inline double reco__pow(double x, double y)
{
    if (y == 0.0 || x == 1.0)
        return 1.0;
    if (x != x || y != y)
        return x + y;
    if (x < 0.0) {
        if (y != floor(y))
            return NAN;
        const double v = reco__pow(-x, y);
        return fmod(y, 2.0) != 0.0 ? -v : v;
    }
    if (x == 0.0)
        return y > 0.0 ? 0.0 : HUGE_VAL;
    if (y == floor(y) && fabs(y) <= 64.0) {
        /* small integer powers by repeated squaring: exact where every partial product is
         * representable (a schedule's rate^t, 2^k), as callers and tests expect */
        unsigned int n = (unsigned int)fabs(y);
        double r = 1.0, b = x;
        while (n > 0) {
            if (n & 1u)
                r *= b;
            b *= b;
            n >>= 1;
        }
        return y < 0.0 ? 1.0 / r : r;
    }
    return reco__exp(y * reco__log(x));
}

/* cos x: x = n pi/2 + r with |r| <= pi/4 (pi/2 in two parts, the first with 33 significant
 * bits so that n * part is exact for |n| < 2^20), then the Taylor series of cos or sin of r by
 * the quadrant. */
static inline double reco__cos(double x)
{
    if (x != x || x == HUGE_VAL || x == -HUGE_VAL)
        return NAN;
    const double pio2_1 = 1.57079632673412561417e+00;
    const double pio2_1t = 6.07710050650619224932e-11;
    const double shifter = 6755399441055744.0;
    const double nf = (x * 6.36619772367581382433e-01 + shifter) - shifter;
    const double r = (x - nf * pio2_1) - nf * pio2_1t;
    const double z = r * r;
    const long long q = (long long)nf & 3;
    if (q == 0 || q == 2) {
        /* 1 - z/2 + z^2/4! - ... to z^8/16! */
        double p = 1.0 / 20922789888000.0;
        p = -1.0 / 87178291200.0 + z * p;
        p = 1.0 / 479001600.0 + z * p;
        p = -1.0 / 3628800.0 + z * p;
        p = 1.0 / 40320.0 + z * p;
        p = -1.0 / 720.0 + z * p;
        p = 1.0 / 24.0 + z * p;
        const double c = 1.0 - (0.5 * z - z * (z * p));
        return q == 0 ? c : -c;
    }
    /* r - r^3/3! + ... to r^17/17! */
    double p = 1.0 / 355687428096000.0;
    p = -1.0 / 1307674368000.0 + z * p;
    p = 1.0 / 6227020800.0 + z * p;
    p = -1.0 / 39916800.0 + z * p;
    p = 1.0 / 362880.0 + z * p;
    p = -1.0 / 5040.0 + z * p;
    p = 1.0 / 120.0 + z * p;
    p = -1.0 / 6.0 + z * p;
    const double s = r + r * (z * p);
    return q == 1 ? -s : s;
}

/* e^x in float: the double computation rounded once (overflow to inf and the float
 * subnormals come from that rounding). */
static inline float reco__expf(float x)
{
    return (float)reco__exp((double)x);
}

/* x^y in float, through reco__pow in double. */
static inline float reco__powf(float x, float y)
{
    return (float)reco__pow((double)x, (double)y);
}

#endif /* RECO_DETMATH_PRIVATE_H */
