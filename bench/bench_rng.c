/* bench_rng: cost of each draw the library makes in its hot loops (explorer, simulator,
 * replay sampling). Fixed seed, a warm-up pass, then timed passes; the checksum printed at
 * the end keeps the compiler from discarding the draws.
 *
 *   bench_rng [--quick]
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <reco/reco.h>

#include "bench_common.h"

static volatile double sink;

#define TIME_LOOP(name, n, body)                                   \
    do {                                                           \
        double acc_ = 0.0;                                         \
        for (size_t i_ = 0; i_ < (n) / 10; i_++) { body; }         \
        double t0_ = bench_now_s();                                \
        for (size_t i_ = 0; i_ < (n); i_++) { body; }              \
        double t1_ = bench_now_s();                                \
        sink += acc_;                                              \
        bench_figure("rng", name, "", 1, 1e9 * (t1_ - t0_) / (double)(n), "ns/op", 0.0); \
    } while (0)

int main(int argc, char **argv)
{
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const size_t n = quick ? 2000000 : 20000000;
    reco_rng rng;
    reco_rng_seed(&rng, 12345, 0);

    TIME_LOOP("u64", n, acc_ += (double)(reco_rng_u64(&rng) >> 40));
    TIME_LOOP("below_1000003", n, acc_ += (double)reco_rng_below(&rng, 1000003));
    TIME_LOOP("uniform", n, acc_ += reco_rng_uniform(&rng));
    TIME_LOOP("uniformf", n, acc_ += reco_rng_uniformf(&rng));
    TIME_LOOP("normal", n, acc_ += reco_rng_normal(&rng));
    TIME_LOOP("gumbel", n, acc_ += reco_rng_gumbel(&rng));
    TIME_LOOP("bernoulli_0.3", n, acc_ += reco_rng_bernoulli(&rng, 0.3));

    /* Categorical over 128 weights (a top-K softmax over 25% of 500 candidates). */
    float w[128];
    for (int j = 0; j < 128; j++)
        w[j] = expf(-0.05f * (float)j);
    size_t pick = 0;
    TIME_LOOP("categorical_128", n / 10,
              { reco_rng_categorical(&pick, &rng, w, 128); acc_ += (double)pick; });
    TIME_LOOP("categorical_logits_128", n / 10,
              { reco_rng_categorical_logits(&pick, &rng, w, 128, 1.0f); acc_ += (double)pick; });

    /* Candidate sampling: 500 of a 1M-item catalog, and a 256-sample minibatch of 100k. */
    uint32_t out[500];
    TIME_LOOP("sample_500_of_1M", n / 1000,
              { reco_rng_sample(out, &rng, 1000000, 500); acc_ += out[0]; });
    TIME_LOOP("sample_256_of_100k", n / 1000,
              { reco_rng_sample(out, &rng, 100000, 256); acc_ += out[0]; });
    uint32_t *perm = malloc(100000 * sizeof *perm);
    if (perm == NULL)
        return 1;
    TIME_LOOP("permutation_100k", n / 100000 + 10,
              { reco_rng_permutation(perm, &rng, 100000); acc_ += perm[0]; });
    free(perm);
    fprintf(stderr, "bench_rng: checksum %.6g\n", (double)sink);
    return 0;
}
