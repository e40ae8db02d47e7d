/* bench_replay: the replay buffer's hot calls at capacity 1M, L = 20 (the setting).
 *
 *   insert              batched inserts: whole segments of `seg` steps with a full L-history
 *                       header, into a full buffer (every insert evicts), in M transitions/s
 *   sample_256          one stratified proportional sample of 256 rows with every output
 *                       (state and next windows, feedback, action, reward, done, weight,
 *                       probability, index), in us per batch
 *   update_256          priority update of 256 sampled indices, us per batch
 *   sample_update_256   both, as a learner step does them, us per batch and batches/s
 *   bytes_per_transition, memory_1M   the whole allocation divided by the capacity
 *   ... " context"      the same with the session context stored (U = 8 user features,
 *                       H = 20 long-term interactions per segment) and sampled (every
 *                       context output as well)
 *
 * Fixed seed, a warm-up, then REPS timed rounds of each loop; the best round is reported
 * (the machines this runs on are shared: the best round is the one least disturbed, and
 * bench/replay_reference.py reports its figures the same way). The checksum printed on
 * stderr keeps the work from being optimised away. bench/run_replay_bench.py runs this and
 * the Python reference (bench/replay_reference.py) and prints the ratios.
 *
 *   bench_replay [--quick]
 */
#include <stdlib.h>
#include <string.h>

#include <reco/reco.h>

#include "bench_common.h"

#define CAP 1000000u
#define L 20u
#define B 256u
#define REPS 5
#define CU 8u  /* the context variant: user features */
#define CH 20u /* and long-term history */

static double checksum;

static void die(const char *what)
{
    fprintf(stderr, "bench_replay: %s: %s\n", what, reco_error_message());
    exit(1);
}

/* A generator's segments: session s, steps k0.., history = the L interactions before. */
typedef struct gen {
    int32_t hist[L], items[256], long_items[CH];
    uint32_t hfb[L], fb[256], long_fb[CH];
    float rew[256], elapsed[257], user[CU];
    reco_replay_segment seg;
} gen;

static int with_context; /* segments carry the context variant's */

static void gen_fill(gen *g, uint32_t s, uint32_t n)
{
    for (uint32_t q = 0; q < L; q++) {
        g->hist[q] = (int32_t)((s * 7919u + q) % 1000000u);
        g->hfb[q] = q & 15u;
    }
    for (uint32_t j = 0; j < n; j++) {
        g->items[j] = (int32_t)((s * 104729u + j) % 1000000u);
        g->fb[j] = (s + j) & 15u;
        g->rew[j] = (float)((s + j) % 7) * 0.5f - 1.0f;
    }
    reco_replay_segment seg = RECO_REPLAY_SEGMENT_INIT;
    seg.history_len = L;
    seg.history_items = g->hist;
    seg.history_feedback = g->hfb;
    seg.n_steps = n;
    seg.items = g->items;
    seg.feedback = g->fb;
    seg.rewards = g->rew;
    seg.ends_session = (s & 3u) == 0;
    if (with_context) {
        for (uint32_t j = 0; j <= n; j++)
            g->elapsed[j] = 3.5f * (float)j;
        for (uint32_t q = 0; q < CU; q++)
            g->user[q] = (float)((s + q) % 11) * 0.1f;
        for (uint32_t q = 0; q < CH; q++) {
            g->long_items[q] = (int32_t)((s * 31u + q) % 1000000u);
            g->long_fb[q] = q & 15u;
        }
        seg.first_step = s & 63u;
        seg.elapsed = g->elapsed;
        seg.user_dim = CU;
        seg.user_features = g->user;
        seg.long_len = CH;
        seg.long_items = g->long_items;
        seg.long_feedback = g->long_fb;
    }
    g->seg = seg;
}

static void bench_insert(reco_replay *r, uint32_t seg_len, size_t n_transitions,
                         const char *kind)
{
    gen *g = malloc(sizeof *g);
    if (g == NULL)
        exit(1);
    /* fill to capacity first, so that every timed insert evicts */
    uint32_t s = 0;
    while (reco_replay_size(r) + seg_len <= CAP) {
        gen_fill(g, s++, seg_len);
        if (reco_replay_add_segment(NULL, r, &g->seg) < 0)
            die("add");
    }
    const size_t n_segs = n_transitions / seg_len / REPS;
    /* segments prepared outside the timed loop: only the library's work is measured */
    gen_fill(g, s, seg_len);
    double best = 1e30;
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = bench_now_s();
        for (size_t k = 0; k < n_segs; k++) {
            g->seg.ends_session = (int)(k & 1u);
            if (reco_replay_add_segment(NULL, r, &g->seg) < 0)
                die("add");
        }
        double t1 = bench_now_s();
        best = t1 - t0 < best ? t1 - t0 : best;
    }
    char setting[64];
    snprintf(setting, sizeof setting, "capacity=1M L=20 seg=%u%s", seg_len, kind);
    bench_figure("replay", "insert", setting, 1, 1e-6 * (double)(n_segs * seg_len) / best,
                 "M/s", 0.0);
    free(g);
}

typedef struct batch_bufs {
    uint64_t idx[B];
    int32_t s_items[B * L], n_items[B * L], act[B], long_items[B * CH];
    uint32_t s_fb[B * L], n_fb[B * L], s_steps[B], n_steps[B], long_fb[B * CH];
    float rew[B], w[B], prob[B], user[B * CU], s_el[B], n_el[B];
    uint8_t done[B];
    reco_replay_batch b;
} batch_bufs;

static batch_bufs *bufs_new(void)
{
    batch_bufs *x = malloc(sizeof *x);
    if (x == NULL)
        exit(1);
    reco_replay_batch b = RECO_REPLAY_BATCH_INIT;
    b.indices = x->idx;
    b.state_items = x->s_items;
    b.state_feedback = x->s_fb;
    b.actions = x->act;
    b.rewards = x->rew;
    b.next_items = x->n_items;
    b.next_feedback = x->n_fb;
    b.done = x->done;
    b.weights = x->w;
    b.probabilities = x->prob;
    if (with_context) {
        b.user_features = x->user;
        b.state_steps = x->s_steps;
        b.next_steps = x->n_steps;
        b.state_elapsed = x->s_el;
        b.next_elapsed = x->n_el;
        b.long_items = x->long_items;
        b.long_feedback = x->long_fb;
    }
    x->b = b;
    return x;
}

static void bench_sample_update(reco_replay *r, size_t iters, const char *kind)
{
    batch_bufs *x = bufs_new();
    float *pri = malloc(sizeof(float) * B * 64);
    if (pri == NULL)
        exit(1);
    reco_rng rng;
    reco_rng_seed(&rng, 77, 0);
    for (size_t k = 0; k < B * 64; k++)
        pri[k] = (float)(reco_rng_uniform(&rng) * reco_rng_uniform(&rng) * 10.0);
    /* spread the priorities first, so that the tree is not flat */
    for (size_t it = 0; it < CAP / B + 64; it++) {
        if (reco_replay_sample(&x->b, r, B) < 0 ||
            reco_replay_update_priorities(NULL, r, x->idx, pri + (it % 64) * B, B) < 0)
            die("warm-up");
    }
    char setting[64];
    snprintf(setting, sizeof setting, "capacity=1M L=20 B=256%s", kind);
    const size_t per_rep = iters / REPS;
    double best_s = 1e30, best_u = 1e30, best_su = 1e30;
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = bench_now_s();
        for (size_t it = 0; it < per_rep; it++) {
            if (reco_replay_sample(&x->b, r, B) < 0)
                die("sample");
            checksum += x->w[it % B];
        }
        double t1 = bench_now_s();
        best_s = t1 - t0 < best_s ? t1 - t0 : best_s;
        t0 = bench_now_s();
        for (size_t it = 0; it < per_rep; it++)
            if (reco_replay_update_priorities(NULL, r, x->idx, pri + (it % 64) * B, B) < 0)
                die("update");
        t1 = bench_now_s();
        best_u = t1 - t0 < best_u ? t1 - t0 : best_u;
        t0 = bench_now_s();
        for (size_t it = 0; it < per_rep; it++) {
            if (reco_replay_sample(&x->b, r, B) < 0 ||
                reco_replay_update_priorities(NULL, r, x->idx, pri + (it % 64) * B, B) < 0)
                die("sample+update");
            checksum += x->s_items[it % (B * L)];
        }
        t1 = bench_now_s();
        best_su = t1 - t0 < best_su ? t1 - t0 : best_su;
    }
    const double scale = 1e6 / (double)per_rep;
    bench_figure("replay", "sample_256", setting, 1, scale * best_s, "us", 0.0);
    bench_figure("replay", "update_256", setting, 1, scale * best_u, "us", 0.0);
    bench_figure("replay", "sample_update_256", setting, 1, scale * best_su, "us", 0.0);
    bench_figure("replay", "sample_update_256_rate", setting, 1, 1.0 / (scale * best_su) * 1e6,
                 "batches/s", 0.0);
    free(pri);
    free(x);
}

int main(int argc, char **argv)
{
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    reco_replay_options o = RECO_REPLAY_OPTIONS_INIT;
    o.capacity = CAP;
    o.lookback = L;
    o.seed = 1;
    size_t bytes = 0;
    if (reco_replay_memory_size(&bytes, &o) < 0)
        die("memory_size");
    bench_figure("replay", "bytes_per_transition", "capacity=1M L=20", 1,
                 (double)bytes / (double)CAP, "B", 0.0);
    bench_figure("replay", "memory_1M", "capacity=1M L=20", 1, (double)bytes / 1048576.0,
                 "MiB", 0.0);
    reco_replay *r = NULL;
    if (reco_replay_create(&r, &o) < 0)
        die("create");
    const size_t n_insert = quick ? 4000000 : 20000000;
    bench_insert(r, 64, n_insert, "");
    bench_insert(r, 16, n_insert / 2, "");
    bench_sample_update(r, quick ? 4000 : 40000, "");
    reco_replay_free(r);

    o.kind = RECO_REPLAY_UNIFORM;
    if (reco_replay_create(&r, &o) < 0)
        die("create");
    bench_insert(r, 64, n_insert / 2, " uniform");
    bench_sample_update(r, quick ? 4000 : 40000, " uniform");
    reco_replay_free(r);

    /* the session context: U = 8, H = 20, default segment capacity (C / 8) */
    o.kind = RECO_REPLAY_PROPORTIONAL;
    o.user_dim = CU;
    o.long_len = CH;
    with_context = 1;
    if (reco_replay_memory_size(&bytes, &o) < 0)
        die("memory_size");
    bench_figure("replay", "bytes_per_transition", "capacity=1M L=20 context U=8 H=20", 1,
                 (double)bytes / (double)CAP, "B", 0.0);
    if (reco_replay_create(&r, &o) < 0)
        die("create");
    bench_insert(r, 64, n_insert / 2, " context U=8 H=20");
    bench_sample_update(r, quick ? 4000 : 40000, " context U=8 H=20");
    reco_replay_free(r);
    fprintf(stderr, "bench_replay: checksum %.6g\n", checksum);
    return 0;
}
