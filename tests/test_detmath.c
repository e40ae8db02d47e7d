/* Tests of the CPU-independent elementary functions (lib/detmath_private.h): accuracy against
 * glibc within the stated bounds, the special values, and a few results pinned to the bit
 * (the correctly rounded value), so that a change of algorithm or evaluation order is seen.
 * That the bits do not depend on the CPU is checked end to end by tests/check_determinism.py,
 * which runs a seeded experiment under each of glibc's math builds. */
#include "test_common.h"
#include "detmath_private.h"

#include <float.h>
#include <math.h>

/* |a - ref| in units of the last place of ref (double). */
static double ulps(double a, double ref)
{
    if (a == ref)
        return 0.0;
    const double r = fabs(ref);
    const double u = r >= DBL_MIN ? nextafter(r, INFINITY) - r : 4.9406564584124654e-324;
    return fabs(a - ref) / u;
}

static double ulpsf(float a, float ref)
{
    if (a == ref)
        return 0.0;
    const float r = fabsf(ref);
    const float u = r >= FLT_MIN ? nextafterf(r, INFINITY) - r : 1.40129846e-45f;
    return fabs((double)a - (double)ref) / (double)u;
}

/* A uniform double in [lo, hi) from a 64-bit LCG (the test's own, fixed). */
static double draw(uint64_t *s, double lo, double hi)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (double)(*s >> 11) * 0x1.0p-53;
}

static void test_detmath_exp_log_within_bounds(void **state)
{
    (void)state;
    uint64_t s = 1;
    double worst_exp = 0.0, worst_log = 0.0;
    for (int i = 0; i < 200000; i++) {
        const double x = draw(&s, -745.0, 709.7);
        worst_exp = fmax(worst_exp, ulps(reco__exp(x), exp(x)));
        const double y = exp(draw(&s, -700.0, 700.0));
        worst_log = fmax(worst_log, ulps(reco__log(y), log(y)));
        const double z = draw(&s, 0.5, 2.0); /* near 1, where log cancels */
        worst_log = fmax(worst_log, ulps(reco__log(z), log(z)));
    }
    /* glibc is within ~0.52 ulp of the exact value, ours within 1: 2 ulp apart at most */
    print_message("exp: %.2f ulp, log: %.2f ulp from glibc\n", worst_exp, worst_log);
    assert_true(worst_exp <= 2.0);
    assert_true(worst_log <= 2.0);
    /* subnormal results and arguments */
    assert_true(ulps(reco__exp(-740.0), exp(-740.0)) <= 1.0);
    assert_true(ulps(reco__log(1e-310), log(1e-310)) <= 2.0);
    /* pinned: e within 1 ulp (these bits), the correctly rounded ln 2 and ln 10 */
    assert_true(reco__exp(1.0) == 0x1.5bf0a8b14576ap+1);
    assert_true(reco__log(2.0) == 0x1.62e42fefa39efp-1);
    assert_true(reco__log(10.0) == 0x1.26bb1bbb55516p+1);
    assert_true(reco__exp(0.0) == 1.0 && reco__log(1.0) == 0.0);
}

static void test_detmath_pow_cos_within_bounds(void **state)
{
    (void)state;
    uint64_t s = 2;
    double worst_pow = 0.0, worst_cos = 0.0;
    for (int i = 0; i < 200000; i++) {
        const double x = draw(&s, 1e-3, 4.0), y = draw(&s, -20.0, 20.0);
        const double bound = 2.0 + 2.0 * fabs(y * log(x));
        worst_pow = fmax(worst_pow, ulps(reco__pow(x, y), pow(x, y)) / bound);
        const double t = draw(&s, 0.0, 6.283185307179586);
        worst_cos = fmax(worst_cos, fabs(reco__cos(t) - cos(t)));
    }
    print_message("pow: %.2f of its bound, cos: %.3g absolute\n", worst_pow, worst_cos);
    assert_true(worst_pow <= 1.0);
    assert_true(worst_cos <= 0x1.0p-52);
    /* integer powers the optimiser uses come out exact where they are representable */
    assert_true(reco__pow(2.0, 10.0) == 1024.0);
    assert_true(reco__pow(0.5, 3.0) == 0.125);
    assert_true(reco__cos(0.0) == 1.0);
}

static void test_detmath_float_within_one_ulp(void **state)
{
    (void)state;
    uint64_t s = 3;
    double worst_exp = 0.0, worst_pow = 0.0;
    for (int i = 0; i < 200000; i++) {
        const float x = (float)draw(&s, -103.0, 88.7);
        worst_exp = fmax(worst_exp, ulpsf(reco__expf(x), expf(x)));
        const float b = (float)draw(&s, 1e-3, 1.0), e = (float)draw(&s, 0.0, 1.0);
        worst_pow = fmax(worst_pow, ulpsf(reco__powf(b, e), powf(b, e)));
    }
    print_message("expf: %.2f ulp, powf: %.2f ulp from glibc\n", worst_exp, worst_pow);
    assert_true(worst_exp <= 1.0);
    assert_true(worst_pow <= 1.0);
}

static void test_detmath_special_values(void **state)
{
    (void)state;
    assert_true(isnan(reco__exp(NAN)) && isnan(reco__log(NAN)) && isnan(reco__cos(NAN)));
    assert_true(reco__exp(INFINITY) == INFINITY && reco__exp(-INFINITY) == 0.0);
    assert_true(reco__exp(710.0) == INFINITY && reco__exp(-746.0) == 0.0);
    assert_true(reco__log(0.0) == -INFINITY && isnan(reco__log(-1.0)));
    assert_true(reco__log(INFINITY) == INFINITY);
    assert_true(isnan(reco__cos(INFINITY)));
    assert_true(reco__pow(0.0, 2.0) == 0.0 && reco__pow(0.0, -1.0) == INFINITY);
    assert_true(reco__pow(5.0, 0.0) == 1.0 && reco__pow(1.0, NAN) == 1.0);
    assert_true(reco__pow(-2.0, 3.0) == -8.0 && isnan(reco__pow(-2.0, 0.5)));
    assert_true(isnan(reco__pow(NAN, 2.0)));
    assert_true(reco__expf(89.0f) == INFINITY && reco__expf(-104.0f) == 0.0f);
    assert_true(reco__expf(-100.0f) > 0.0f); /* a float subnormal */
    assert_true(isnan(reco__expf(NAN)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detmath_exp_log_within_bounds),
        cmocka_unit_test(test_detmath_pow_cos_within_bounds),
        cmocka_unit_test(test_detmath_float_within_one_ulp),
        cmocka_unit_test(test_detmath_special_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
