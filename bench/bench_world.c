/* bench_world: throughput of the ground-truth world as an environment. Fixed seed, default
 * world (10k items, C = 500 candidates), a warm-up pass, then timed passes. Figures:
 *
 *   steps_random    env steps/s for E sessions stepped together (E = 1 and 256): one
 *                   candidates() call and one step() call per step, a random candidate
 *                   chosen, finished sessions restarted at once;
 *   steps_greedy    the same with the myopic oracle policy (reco_world_expected_reward()
 *                   over the 500 candidates of each session, then the argmax);
 *   start           session starts per second (user, 10-interaction synthetic history).
 *
 *   bench_world [--quick]
 */
#include <stdlib.h>
#include <string.h>

#define RECO_LAB_API /* the world is lab API (docs/abi.md) */
#include <reco/reco.h>

#include "bench_common.h"

static volatile double sink;

/* Steps `total` env steps over E slots; returns steps per second. */
static double run(reco_world *w, uint32_t E, uint64_t total, int greedy)
{
    reco_env env;
    reco_world_env(&env, w);
    const uint32_t C = 500;
    uint32_t *slots = malloc(sizeof(uint32_t) * E), *count = malloc(sizeof(uint32_t) * E);
    uint32_t *fb = malloc(sizeof(uint32_t) * E), *restart = malloc(sizeof(uint32_t) * E);
    uint64_t *users = malloc(sizeof(uint64_t) * E);
    int32_t *cand = malloc(sizeof(int32_t) * E * C), *pick = malloc(sizeof(int32_t) * E);
    float *reward = malloc(sizeof(float) * E), *er = malloc(sizeof(float) * C);
    int *done = malloc(sizeof(int) * E);
    if (!slots || !count || !fb || !restart || !users || !cand || !pick || !reward || !er ||
        !done) {
        fprintf(stderr, "bench_world: out of memory\n");
        exit(1);
    }
    uint64_t next_session = 0;
    for (uint32_t i = 0; i < E; i++)
        slots[i] = i;
    reco_world_eval_users(users, w, next_session, E);
    next_session += E;
    env.reset(slots, users, E, env.payload);
    reco_rng rng;
    reco_rng_seed(&rng, 3, 0);
    double acc = 0;
    const double t0 = bench_now_s();
    for (uint64_t steps = 0; steps < total; steps += E) {
        env.candidates(cand, count, C, slots, E, env.payload);
        for (uint32_t i = 0; i < E; i++) {
            uint32_t j = (uint32_t)reco_rng_below(&rng, count[i]);
            if (greedy) {
                reco_world_expected_reward(er, w, slots[i], cand + (size_t)i * C, count[i]);
                j = 0;
                for (uint32_t k = 1; k < count[i]; k++)
                    if (er[k] > er[j])
                        j = k;
            }
            pick[i] = cand[(size_t)i * C + j];
        }
        env.step(fb, reward, done, slots, pick, E, env.payload);
        uint32_t n = 0;
        for (uint32_t i = 0; i < E; i++) {
            acc += reward[i];
            if (done[i])
                restart[n++] = slots[i];
        }
        if (n > 0) {
            reco_world_eval_users(users, w, next_session, n);
            next_session += n;
            env.reset(restart, users, n, env.payload);
        }
    }
    const double dt = bench_now_s() - t0;
    sink += acc;
    free(slots); free(count); free(fb); free(restart); free(users); free(cand); free(pick);
    free(reward); free(er); free(done);
    return (double)total / dt;
}

int main(int argc, char **argv)
{
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    const uint64_t total = quick ? 20000 : 200000;
    reco_world *w = NULL;
    if (reco_world_create(&w, NULL) < 0) {
        fprintf(stderr, "bench_world: %s\n", reco_error_message());
        return 1;
    }
    static const uint32_t Es[2] = { 1, 256 };
    for (int g = 0; g < 2; g++)
        for (int e = 0; e < 2; e++) {
            char setting[64];
            snprintf(setting, sizeof setting, "E=%u C=500", Es[e]);
            run(w, Es[e], total / 10, g); /* warm-up */
            bench_figure("world", g ? "steps_greedy" : "steps_random", setting, 1,
                         run(w, Es[e], total, g), "steps/s", 0.0);
        }
    /* session starts */
    const uint32_t n = quick ? 20000 : 200000;
    uint32_t slot = 0;
    double t0 = bench_now_s();
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        reco_world_eval_users(&key, w, i, 1);
        reco_world_start(&slot, &key, 1, w);
    }
    bench_figure("world", "start", "history_len=10", 1, n / (bench_now_s() - t0), "starts/s",
                 0.0);
    size_t bytes = 0;
    reco_world_memory_size(&bytes, NULL);
    bench_figure("world", "memory", "defaults (256 slots)", 1, (double)bytes, "bytes", 0.0);
    reco_world_free(w);
    return 0;
}
