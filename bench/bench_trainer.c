/* bench_trainer: end-to-end RecoMind training throughput — transitions generated per second
 * and updates per second — with 1 and 2 generator threads, in the setting of
 * examples/train_recomind.c: 1000 items, feedback model d=16, L=20, 1 block, 2 heads, FFN 32,
 * 4 signals (random init: throughput does not depend on the weights); simulator with 500
 * candidates per step; 16 sessions per generator, segments of 32 steps; batch 64, C=128
 * candidates for s', replay ratio 0.25 (capacity 100000, warm-up 2000), snapshot every
 * update. One generator runs in lock-step (staleness 0), two with staleness 8.
 * Rates are measured after the warm-up interval. Also the cost of the wire boundary: encoding
 * and decoding one snapshot ("RPRM") and one 32-step segment ("RSEG").
 * One JSON object per figure (bench_common.h).
 *
 *   bench_trainer [--quick] [--threads N[,N]] [--updates U]
 */
#include <stdlib.h>
#include <string.h>

#include <reco/reco.h>

#include "bench_common.h"

enum { N_ITEMS = 1000, L = 20, SIM_C = 500, B = 64, CAND = 128, S = 16, SEG = 32 };

static void die(const char *what)
{
    fprintf(stderr, "bench_trainer: %s: %s\n", what, reco_error_message());
    exit(1);
}

typedef struct app {
    reco_sim *sims[2];
    double tps, ups; /* rates of the intervals after the first, summed */
    int rows;
} app;

static int make_env(reco_env *out, uint32_t g, void *payload)
{
    app *a = payload;
    return reco_sim_env(out, a->sims[g]);
}

static int on_progress(const reco_trainer_metrics *m, void *payload)
{
    app *a = payload;
    a->rows++;
    if (a->rows > 1) { /* the first interval holds the warm-up */
        a->tps += m->transitions_per_s;
        a->ups += m->updates_per_s;
    }
    return 0;
}

static reco_model_options model_options(void)
{
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = N_ITEMS;
    mo.dim = 16;
    mo.lookback = L;
    mo.n_blocks = 1;
    mo.n_heads = 2;
    mo.ffn_dim = 32;
    mo.n_signals = 4;
    mo.max_batch = 256;
    mo.max_candidates = SIM_C;
    mo.seed = 7;
    return mo;
}

static void run(const reco_model *fb_model, uint32_t n_gen, uint64_t updates)
{
    app a;
    memset(&a, 0, sizeof a);
    reco_sim_options so = RECO_SIM_OPTIONS_INIT;
    so.max_sessions = S;
    so.n_candidates = SIM_C;
    for (uint32_t g = 0; g < n_gen; g++) {
        so.seed = 11 + g;
        if (reco_sim_create(&a.sims[g], fb_model, &so) < 0)
            die("reco_sim_create");
    }
    reco_model_options qmo = model_options();
    qmo.seed = 17;
    qmo.lr = 5e-4f;
    reco_qnet_options qo = RECO_QNET_OPTIONS_INIT;
    qo.model = &qmo;
    qo.gamma = 0.9f;
    qo.target_period = 250;
    reco_qnet *q = NULL;
    if (reco_qnet_create(&q, &qo) < 0)
        die("reco_qnet_create");
    reco_replay_options ro = RECO_REPLAY_OPTIONS_INIT;
    ro.capacity = 100000;
    ro.lookback = L;
    ro.seed = 3;
    reco_replay *rb = NULL;
    if (reco_replay_create(&rb, &ro) < 0)
        die("reco_replay_create");
    reco_explorer_options eo = RECO_EXPLORER_OPTIONS_INIT;
    eo.max_candidates = SIM_C;
    eo.seed = 23;
    reco_trainer_options to = RECO_TRAINER_OPTIONS_INIT;
    to.n_generators = n_gen;
    to.sessions_per_generator = S;
    to.segment_len = SEG;
    to.replay_ratio = 0.25;
    to.warmup = 2000;
    to.batch_size = B;
    to.n_candidates = CAND;
    to.snapshot_period = 1;
    to.max_staleness = n_gen == 1 ? 0 : 8;
    to.total_updates = updates;
    to.n_users = 10000;
    to.seed = 9;
    to.metrics_interval = updates / 5;
    to.progress = on_progress;
    to.progress_payload = &a;
    reco_trainer *t = NULL;
    reco_trainer_report rep = RECO_TRAINER_REPORT_INIT;
    if (reco_trainer_create(&t, q, rb, &eo, make_env, &a, &to) < 0 ||
        reco_trainer_run(&rep, t) < 0)
        die("trainer");
    /* the last interval is not passed to the callback */
    a.tps += rep.last.transitions_per_s;
    a.ups += rep.last.updates_per_s;
    const int n = a.rows; /* intervals 2..rows + 1 */
    char setting[96];
    snprintf(setting, sizeof setting, "B=%d C=%d sim_C=%d ratio=0.25 gens=%u", B, CAND, SIM_C,
             n_gen);
    bench_figure("trainer", "transitions_per_s", setting, (int)n_gen, a.tps / n, "1/s", 0);
    bench_figure("trainer", "updates_per_s", setting, (int)n_gen, a.ups / n, "1/s", 0);
    reco_trainer_free(t);
    reco_replay_free(rb);
    reco_qnet_free(q);
    for (uint32_t g = 0; g < n_gen; g++)
        reco_sim_free(a.sims[g]);
}

/* The wire boundary: one snapshot encode + decode, one segment encode + decode. */
static void wire_costs(const reco_model *m, int quick)
{
    size_t plen = 0;
    if (reco_model_params_encode(NULL, 0, &plen, m, 0) < 0)
        die("params_encode");
    unsigned char *pbuf = malloc(plen);
    reco_model_options mo = model_options();
    reco_model *dst = NULL;
    if (reco_model_create(&dst, &mo) < 0)
        die("reco_model_create");
    const int reps = quick ? 200 : 2000;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        const double t0 = bench_now_s();
        if (reco_model_params_encode(pbuf, plen, NULL, m, (uint64_t)r) < 0 ||
            reco_model_params_decode(NULL, dst, pbuf, plen) < 0)
            die("params");
        const double dt = bench_now_s() - t0;
        best = dt < best ? dt : best;
    }
    char setting[64];
    snprintf(setting, sizeof setting, "P=%zu bytes=%zu", reco_model_n_params(m), plen);
    bench_figure("trainer", "snapshot_encode_decode", setting, 1, best * 1e6, "us", 0);

    int32_t hi[L], it[SEG], di[SEG], dhi[L];
    uint32_t hf[L], f[SEG], df[SEG], dhf[L];
    float rw[SEG], drw[SEG];
    for (int i = 0; i < L; i++) {
        hi[i] = i * 7 % N_ITEMS;
        hf[i] = (uint32_t)i & 3u;
    }
    for (int i = 0; i < SEG; i++) {
        it[i] = i * 13 % N_ITEMS;
        f[i] = (uint32_t)i & 5u;
        rw[i] = 0.1f * (float)i;
    }
    reco_replay_segment sg = RECO_REPLAY_SEGMENT_INIT;
    sg.version = 1; /* format 1: what a trainer without the session context sends */
    sg.history_len = L;
    sg.history_items = hi;
    sg.history_feedback = hf;
    sg.n_steps = SEG;
    sg.items = it;
    sg.feedback = f;
    sg.rewards = rw;
    unsigned char sbuf[24 + 8 * L + 12 * SEG];
    size_t slen = 0;
    best = 1e30;
    for (int r = 0; r < reps * 10; r++) {
        reco_replay_segment out;
        const double t0 = bench_now_s();
        if (reco_segment_encode(sbuf, sizeof sbuf, &slen, &sg) < 0 ||
            reco_segment_decode(&out, di, df, drw, dhi, dhf, SEG, L, sbuf, slen) < 0)
            die("segment");
        const double dt = bench_now_s() - t0;
        best = dt < best ? dt : best;
    }
    snprintf(setting, sizeof setting, "L=%d steps=%d bytes=%zu", L, SEG, slen);
    bench_figure("trainer", "segment_encode_decode", setting, 1, best * 1e9 / SEG,
                 "ns/transition", 0);
    reco_model_free(dst);
    free(pbuf);
}

int main(int argc, char **argv)
{
    int quick = 0;
    uint64_t updates = 0;
    char threads[32] = "1,2";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            snprintf(threads, sizeof threads, "%s", argv[++i]);
        else if (strcmp(argv[i], "--updates") == 0 && i + 1 < argc)
            updates = strtoull(argv[++i], NULL, 10);
    }
    if (updates == 0)
        updates = quick ? 1000 : 5000;
    reco_model_options mo = model_options();
    reco_model *fb = NULL;
    if (reco_model_create(&fb, &mo) < 0)
        die("reco_model_create");
    wire_costs(fb, quick);
    for (const char *p = threads; *p != '\0';) {
        const uint32_t n = (uint32_t)strtoul(p, (char **)&p, 10);
        if (n < 1 || n > 2)
            die("--threads takes 1 and/or 2");
        run(fb, n, updates);
        if (*p == ',')
            p++;
    }
    reco_model_free(fb);
    return 0;
}
