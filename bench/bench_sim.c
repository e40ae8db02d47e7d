/* bench_sim: simulator environment steps per second with RecoMind's policy in the loop —
 * score the C=500 candidates of each of E sessions with the Q head, select with the top-K
 * softmax explorer, step the simulator — for E=1 and E=256 parallel sessions, in the
 * canonical model setting (d=64, L=20, 1 block, 2 heads, FFN 256, 5 signals + exit + Q).
 * One JSON object per figure (bench_common.h).
 *
 *   bench_sim [--quick]
 */
#include <stdlib.h>
#include <string.h>

#include <reco/reco.h>

#include "bench_common.h"

enum { D = 64, L = 20, FSIG = 5, C = 500, N = 10000 };

static void die(const char *what)
{
    fprintf(stderr, "bench_sim: %s: %s\n", what, reco_error_message());
    exit(1);
}

static double run(reco_model *m, uint32_t E, double seconds, double *sessions_out)
{
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = E;
    so.n_candidates = C;
    so.max_session_len = 50;
    reco_sim *sim = NULL;
    if (reco_sim_create(&sim, m, &so) < 0)
        die("reco_sim_create");
    reco_env env;
    reco_sim_env(&env, sim);
    reco_explorer_options eo = RECO_EXPLORER_OPTIONS_INIT;
    eo.max_candidates = C;
    reco_explorer *ex = NULL;
    if (reco_explorer_create(&ex, &eo) < 0)
        die("reco_explorer_create");
    reco_workspace *ws = NULL;
    if (reco_workspace_create(&ws, m) < 0)
        die("reco_workspace_create");

    uint32_t *slots = malloc(sizeof(uint32_t) * E);
    uint64_t *users = malloc(sizeof(uint64_t) * E);
    int32_t *items = malloc(sizeof(int32_t) * E * L), *cand = malloc(sizeof(int32_t) * E * C);
    uint32_t *fb = malloc(sizeof(uint32_t) * E * L), *nc = malloc(sizeof(uint32_t) * E);
    float *q = malloc(sizeof(float) * E * C), *reward = malloc(sizeof(float) * E);
    uint32_t *pick = malloc(sizeof(uint32_t) * E), *bits = malloc(sizeof(uint32_t) * E);
    int32_t *shown = malloc(sizeof(int32_t) * E);
    int *done = malloc(sizeof(int) * E);
    for (uint32_t i = 0; i < E; i++) {
        slots[i] = i;
        users[i] = i;
    }
    if (env.reset(slots, users, E, env.payload) < 0)
        die("reset");
    const uint32_t q_head = reco_model_n_heads(m) - 1;
    uint64_t steps = 0, sessions = 0, next_user = E;
    const double t0 = bench_now_s();
    double now = t0;
    while (now - t0 < seconds) {
        for (int rep = 0; rep < 20; rep++) {
            if (env.observe(items, fb, NULL, slots, E, env.payload) < 0 ||
                env.candidates(cand, nc, C, slots, E, env.payload) < 0)
                die("observe/candidates");
            reco_batch b = RECO_BATCH_INIT;
            b.size = E;
            b.items = items;
            b.feedback = fb;
            b.n_candidates = C;
            b.candidates = cand;
            b.shared_candidates = 0;
            if (reco_model_score(q, m, ws, &b, &q_head, 1) < 0)
                die("score");
            if (reco_explorer_select(pick, NULL, ex, q, E, C, C) < 0)
                die("select");
            for (uint32_t i = 0; i < E; i++)
                shown[i] = cand[(size_t)i * C + pick[i]];
            if (env.step(bits, reward, done, slots, shown, E, env.payload) < 0)
                die("step");
            steps += E;
            for (uint32_t i = 0; i < E; i++) {
                if (done[i]) {
                    sessions++;
                    uint64_t u = next_user++;
                    if (env.reset(&slots[i], &u, 1, env.payload) < 0)
                        die("reset");
                }
            }
        }
        now = bench_now_s();
    }
    *sessions_out = (double)sessions;
    free(slots);
    free(users);
    free(items);
    free(cand);
    free(fb);
    free(nc);
    free(q);
    free(reward);
    free(pick);
    free(bits);
    free(shown);
    free(done);
    reco_workspace_free(ws);
    reco_explorer_free(ex);
    reco_sim_free(sim);
    return (double)steps / (now - t0);
}

int main(int argc, char **argv)
{
    const int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = N;
    o.dim = D;
    o.lookback = L;
    o.n_blocks = 1;
    o.n_heads = 2;
    o.ffn_dim = 256;
    o.n_signals = FSIG;
    o.max_batch = 256;
    o.max_candidates = C;
    reco_model *m = NULL;
    if (reco_model_create(&m, &o) < 0)
        die("reco_model_create");
    const uint32_t Es[2] = {1, 256};
    for (int k = 0; k < 2; k++) {
        double sessions = 0;
        const double rate = run(m, Es[k], quick ? 1.0 : 5.0, &sessions);
        char setting[96];
        snprintf(setting, sizeof setting, "E=%u C=%d N=%d top-K softmax", Es[k], C, N);
        bench_figure("sim", "env_steps_per_s", setting, 1, rate, "steps/s", 0);
    }
    reco_model_free(m);
    return 0;
}
