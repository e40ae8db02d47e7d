/* bench_model: the reco_model figures of issue 3, in the canonical setting
 *   d=64, L=20, 1 block, 2 heads, FFN 256, 5 signals (+ exit = 6 supervised heads) + Q head,
 *   B=256, C=500, N in {10k, 100k, 1M}, 1 and 2 BLIS threads.
 * One JSON object per figure (bench_common.h). bench/model_reference.py runs the same
 * architecture in PyTorch; bench/run_model_bench.py runs both and prints the ratios.
 *
 *   bench_model [--quick] [--threads N] [--items N[,N...]]
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <reco/reco.h>

#include "bench_common.h"

enum { D = 64, L = 20, FSIG = 5, B = 256, C = 500 };

typedef struct setup {
    reco_model *online, *target;
    int32_t *items, *next_items, *cand, *shown;
    uint32_t *fb, *next_fb;
    float *labels, *scores, *targets, *weights;
} setup;

static int die(const char *what)
{
    fprintf(stderr, "bench_model: %s: %s\n", what, reco_error_message());
    exit(1);
}

static void fill_batch(reco_rng *rng, int32_t *items, uint32_t *fb, size_t rows, uint32_t n)
{
    for (size_t i = 0; i < rows * L; i++) {
        /* a quarter of the slots empty, as in short sessions */
        items[i] = reco_rng_below(rng, 4) == 0 ? RECO_PAD : (int32_t)reco_rng_below(rng, n);
        fb[i] = (uint32_t)reco_rng_below(rng, 1u << FSIG);
    }
}

static reco_model *make_model(uint32_t n_items, uint32_t threads, uint64_t seed)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = n_items;
    o.dim = D;
    o.lookback = L;
    o.n_blocks = 1;
    o.n_heads = 2;
    o.ffn_dim = 256;
    o.n_signals = FSIG;
    o.max_batch = B;
    o.max_candidates = C;
    o.threads = threads;
    o.seed = seed;
    reco_model *m = NULL;
    if (reco_model_create(&m, &o) < 0)
        die("reco_model_create");
    return m;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* FLOPs of the work one forward of the canonical model does on B states (products only; the
 * single block is the last one, whose attention is folded: docs/model.md), for `heads` heads. */
static double forward_flops(double b, double heads)
{
    const double T = L + 1, d = D, f = 256, nh = 2;
    const double q = 2 * b * d * d, rvec = 2 * b * d * d, att = 2 * 2 * b * T * d * nh;
    const double vo = 2 * b * d * d, wo = 2 * b * d * d, ffn = 2 * 2 * b * d * f;
    const double proj = 2 * b * d * heads * d;
    return q + rvec + att + vo + wo + ffn + proj;
}

/* The memory-bandwidth limit: the fastest plain read of n floats (four vector accumulators;
 * an AVX2 clone where the CPU has it, like the library's own kernels). */
typedef float bench_v8 __attribute__((vector_size(32)));
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
static float stream_sum(const float *x, size_t n)
{
    bench_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (size_t i = 0; i + 32 <= n; i += 32) {
        bench_v8 x0, x1, x2, x3;
        memcpy(&x0, x + i, 32);
        memcpy(&x1, x + i + 8, 32);
        memcpy(&x2, x + i + 16, 32);
        memcpy(&x3, x + i + 24, 32);
        a0 += x0;
        a1 += x1;
        a2 += x2;
        a3 += x3;
    }
    const bench_v8 a = (a0 + a1) + (a2 + a3);
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

int main(int argc, char **argv)
{
    int quick = 0;
    uint32_t threads = 1;
    uint32_t item_sizes[3] = {10000, 100000, 1000000};
    size_t n_sizes = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = (uint32_t)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--items") == 0 && i + 1 < argc) {
            n_sizes = 0;
            for (char *tok = strtok(argv[++i], ","); tok != NULL && n_sizes < 3;
                 tok = strtok(NULL, ","))
                item_sizes[n_sizes++] = (uint32_t)atol(tok);
        } else {
            fprintf(stderr, "usage: bench_model [--quick] [--threads N] [--items N[,N...]]\n");
            return 2;
        }
    }
    const int reps = quick ? 5 : 30;
    reco_rng rng;
    reco_rng_seed(&rng, 2024, 0);
    char setting[128];

    for (size_t si = 0; si < n_sizes; si++) {
        const uint32_t N = item_sizes[si];
        setup s;
        s.online = make_model(N, threads, 1);
        s.target = make_model(N, threads, 1);
        s.items = malloc(sizeof(int32_t) * B * L);
        s.next_items = malloc(sizeof(int32_t) * B * L);
        s.fb = malloc(sizeof(uint32_t) * B * L);
        s.next_fb = malloc(sizeof(uint32_t) * B * L);
        s.cand = malloc(sizeof(int32_t) * C);
        s.shown = malloc(sizeof(int32_t) * B);
        s.labels = malloc(sizeof(float) * B * (FSIG + 1));
        s.scores = malloc(sizeof(float) * B * C);
        s.targets = malloc(sizeof(float) * B);
        s.weights = malloc(sizeof(float) * B);
        fill_batch(&rng, s.items, s.fb, B, N);
        fill_batch(&rng, s.next_items, s.next_fb, B, N);
        reco_rng_sample((uint32_t *)s.cand, &rng, N, C);
        for (size_t i = 0; i < B; i++) {
            s.shown[i] = (int32_t)reco_rng_below(&rng, N);
            s.weights[i] = 0.5f + reco_rng_uniformf(&rng);
        }
        for (size_t i = 0; i < B * (FSIG + 1); i++)
            s.labels[i] = (float)reco_rng_bernoulli(&rng, 0.3);

        reco_batch cur = RECO_BATCH_INIT, next = RECO_BATCH_INIT;
        cur.size = next.size = B;
        cur.items = s.items;
        cur.feedback = s.fb;
        next.items = s.next_items;
        next.feedback = s.next_fb;
        cur.n_candidates = next.n_candidates = C;
        cur.candidates = next.candidates = s.cand;
        cur.shared_candidates = next.shared_candidates = 1;
        const uint32_t q_head = reco_model_n_heads(s.online) - 1;

        /* 1. supervised training step: forward + BCE backward + Adam */
        if (N == item_sizes[0]) {
            double t0 = 0, best = 1e30;
            for (int r = -2; r < reps; r++) {
                t0 = bench_now_s();
                if (reco_model_train_bce(NULL, s.online, &cur, s.shown, s.labels, NULL) < 0 ||
                    reco_model_step(NULL, s.online) < 0)
                    die("train_bce");
                const double dt = bench_now_s() - t0;
                if (r >= 0 && dt < best)
                    best = dt;
            }
            snprintf(setting, sizeof setting, "B=%d N=%u", B, N);
            bench_figure("model", "train_step_bce", setting, (int)threads, best * 1e3, "ms", 0);
            /* backward products cost twice the forward ones */
            const double flops = 3.0 * forward_flops(B, FSIG + 2);
            bench_figure("model", "train_step_bce_gflops", setting, (int)threads,
                         flops / best * 1e-9, "GFLOP/s", 0);
        }

        /* 2. one TD update: online forward of s', target forward of s', then forward +
         *    backward of s and the optimiser step. */
        {
            double best = 1e30;
            for (int r = -2; r < reps; r++) {
                const double t0 = bench_now_s();
                if (reco_model_score(s.scores, s.online, NULL, &next, &q_head, 1) < 0)
                    die("score online");
                int32_t *argmax = s.shown; /* reuse as the chosen next actions */
                for (size_t b = 0; b < B; b++) {
                    size_t k = 0;
                    for (size_t c = 1; c < C; c++)
                        if (s.scores[b * C + c] > s.scores[b * C + k])
                            k = c;
                    argmax[b] = s.cand[k];
                }
                if (reco_model_score(s.scores, s.target, NULL, &next, &q_head, 1) < 0)
                    die("score target");
                for (size_t b = 0; b < B; b++)
                    s.targets[b] = 0.1f + 0.9f * s.scores[b * C];
                if (reco_model_train_scalar(NULL, NULL, s.online, &cur, argmax, q_head,
                                            s.targets, s.weights, 1.0f) < 0 ||
                    reco_model_step(NULL, s.online) < 0)
                    die("td update");
                const double dt = bench_now_s() - t0;
                if (r >= 0 && dt < best)
                    best = dt;
            }
            snprintf(setting, sizeof setting, "B=%d C=%d N=%u", B, C, N);
            bench_figure("model", "td_update", setting, (int)threads, best * 1e3, "ms", 0);
        }

        /* 3. scoring 500 candidates for one state (latency distribution) */
        if (N == item_sizes[0]) {
            reco_batch one = cur;
            one.size = 1;
            const int n = quick ? 2000 : 20000;
            double *lat = malloc(sizeof(double) * (size_t)n);
            for (int r = -100; r < n; r++) {
                const double t0 = bench_now_s();
                if (reco_model_score(s.scores, s.online, NULL, &one, &q_head, 1) < 0)
                    die("score");
                if (r >= 0)
                    lat[r] = bench_now_s() - t0;
            }
            qsort(lat, (size_t)n, sizeof(double), cmp_double);
            snprintf(setting, sizeof setting, "B=1 C=%d N=%u", C, N);
            bench_figure("model", "score_one_state_p50", setting, (int)threads,
                         lat[n / 2] * 1e6, "us", 0);
            bench_figure("model", "score_one_state_p99", setting, (int)threads,
                         lat[(size_t)n * 99 / 100] * 1e6, "us", 0);
            free(lat);
        }

        /* 4. top-500 retrieval over the whole catalog for one state, against the time of a
         *    streaming read of the embedding table (the memory-bandwidth limit). */
        if (N == item_sizes[n_sizes - 1]) {
            reco_batch one = cur;
            one.size = 1;
            int32_t ids[C];
            float sc[C];
            double best = 1e30;
            for (int r = -1; r < (quick ? 3 : 10); r++) {
                const double t0 = bench_now_s();
                if (reco_model_topn(ids, sc, s.online, NULL, &one, q_head, C) < 0)
                    die("topn");
                const double dt = bench_now_s() - t0;
                if (r >= 0 && dt < best)
                    best = dt;
            }
            /* streaming read of N x d floats (the same bytes topn must read) */
            const size_t nf = (size_t)N * D;
            float *table = malloc(nf * sizeof(float));
            for (size_t i = 0; i < nf; i++)
                table[i] = (float)(i & 1023) * 1e-3f;
            double bw_best = 1e30;
            volatile float sink = 0.0f;
            for (int r = -1; r < (quick ? 5 : 10); r++) {
                const double t0 = bench_now_s();
                sink += stream_sum(table, nf);
                const double dt = bench_now_s() - t0;
                if (r >= 0 && dt < bw_best)
                    bw_best = dt;
            }
            (void)sink;
            free(table);
            snprintf(setting, sizeof setting, "B=1 n=%d N=%u d=%d", C, N, D);
            bench_figure("model", "topn_catalog", setting, (int)threads, best * 1e3, "ms", 0);
            bench_figure("model", "stream_read_table", setting, (int)threads, bw_best * 1e3,
                         "ms", 0);
            bench_figure("model", "topn_over_bandwidth_limit", setting, (int)threads,
                         best / bw_best, "x", 0);
            bench_figure("model", "stream_read_bandwidth", setting, (int)threads,
                         (double)nf * 4 / bw_best * 1e-9, "GB/s", 0);
        }

        reco_model_free(s.online);
        reco_model_free(s.target);
        free(s.items);
        free(s.next_items);
        free(s.fb);
        free(s.next_fb);
        free(s.cand);
        free(s.shown);
        free(s.labels);
        free(s.scores);
        free(s.targets);
        free(s.weights);
    }
    return 0;
}
