/* bench_explorer: batched action selection, B = 256 states x C = 500 candidates, one thread,
 * for each rule (epsilon 0.1, tau 1, K = 25% = 125), with the chosen action's probability
 * requested (the training loop logs it) and, for the top-K softmax, without it and through
 * reco_explorer_probs(). Fixed seed, a warm-up pass, then timed passes.
 *
 *   bench_explorer [--quick] [--ref explorer_reference.py]
 *
 * With --ref, runs the NumPy reference of the top-K softmax selection (Debian's
 * /usr/bin/python3 with python3-numpy) on the same sizes and adds its time and the ratio
 * (reference ns / libreco ns: > 1 means libreco is faster) to that figure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <reco/reco.h>

#include "bench_common.h"

enum { B = 256, C = 500 };
static const char SETTING[] = "B=256 C=500 eps=0.1 tau=1 K=125";

static volatile double sink;

/* Runs the NumPy reference and returns its ns per selection (0 when it cannot run). */
static double numpy_reference_ns(const char *script, int quick)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s 2>/dev/null", script,
             quick ? "--quick" : "");
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return 0.0;
    char line[1024];
    double ns = 0.0;
    while (fgets(line, sizeof line, p) != NULL) {
        const char *v = strstr(line, "\"value\":");
        if (strstr(line, "\"name\":\"select_top_k_softmax\"") != NULL && v != NULL)
            ns = strtod(v + 8, NULL);
    }
    if (pclose(p) != 0)
        return 0.0;
    return ns;
}

/* Times `reps` calls of select (prob_out NULL when !with_prob); returns ns per selection. */
static double time_select(reco_explorer *e, const float *q, uint32_t *idx, float *prob,
                          int with_prob, size_t reps)
{
    for (size_t i = 0; i < reps / 10 + 1; i++)
        reco_explorer_select(idx, with_prob ? prob : NULL, e, q, B, C, C);
    const double t0 = bench_now_s();
    for (size_t i = 0; i < reps; i++) {
        if (reco_explorer_select(idx, with_prob ? prob : NULL, e, q, B, C, C) != RECO_OK) {
            fprintf(stderr, "bench_explorer: %s\n", reco_error_message());
            exit(1);
        }
        sink += idx[i % B];
    }
    const double t1 = bench_now_s();
    return 1e9 * (t1 - t0) / ((double)reps * B);
}

int main(int argc, char **argv)
{
    int quick = 0;
    const char *ref_script = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--ref") == 0 && i + 1 < argc)
            ref_script = argv[++i];
    }
    const size_t reps = quick ? 200 : 2000;

    float *q = malloc(sizeof(float) * B * C);
    float *probs = malloc(sizeof(float) * B * C);
    uint32_t idx[B];
    float prob[B];
    if (q == NULL || probs == NULL)
        return 1;
    reco_rng rng;
    reco_rng_seed(&rng, 12345, 0);
    for (size_t i = 0; i < (size_t)B * C; i++)
        q[i] = (float)reco_rng_normal(&rng);

    static const struct {
        reco_explorer_rule rule;
        const char *name;
    } rules[] = {
        {RECO_EXPLORER_GREEDY, "greedy"},
        {RECO_EXPLORER_EPSILON_GREEDY, "epsilon_greedy"},
        {RECO_EXPLORER_TOP_K_SOFTMAX, "top_k_softmax"},
        {RECO_EXPLORER_BOLTZMANN, "boltzmann"},
    };
    const double ref_ns = ref_script != NULL ? numpy_reference_ns(ref_script, quick) : 0.0;
    if (ref_script != NULL && ref_ns <= 0.0)
        fprintf(stderr, "bench_explorer: NumPy reference did not run (python3-numpy?)\n");

    reco_explorer_options o = RECO_EXPLORER_OPTIONS_INIT;
    o.max_candidates = C;
    o.seed = 7;
    size_t bytes = 0;
    reco_explorer_workspace_size(&bytes, &o);
    bench_figure("explorer", "bytes_per_handle", "max_candidates=500", 1, (double)bytes, "B",
                 0.0);

    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        o.rule = rules[r].rule;
        reco_explorer *e = NULL;
        if (reco_explorer_create(&e, &o) != RECO_OK) {
            fprintf(stderr, "bench_explorer: %s\n", reco_error_message());
            return 1;
        }
        char name[64];
        const double ns = time_select(e, q, idx, prob, 1, reps);
        snprintf(name, sizeof name, "select_%s", rules[r].name);
        const int is_topk = rules[r].rule == RECO_EXPLORER_TOP_K_SOFTMAX;
        bench_figure("explorer", name, SETTING, 1, ns, "ns/selection", is_topk ? ref_ns : 0.0);
        snprintf(name, sizeof name, "select_%s_rate", rules[r].name);
        bench_figure("explorer", name, SETTING, 1, 1e9 / ns, "selections/s", 0.0);
        if (is_topk) {
            const double ns0 = time_select(e, q, idx, prob, 0, reps);
            bench_figure("explorer", "select_top_k_softmax_no_prob", SETTING, 1, ns0,
                         "ns/selection", 0.0);
            for (size_t i = 0; i < reps / 10 + 1; i++)
                reco_explorer_probs(probs, e, q, B, C, C);
            const double t0 = bench_now_s();
            for (size_t i = 0; i < reps; i++) {
                reco_explorer_probs(probs, e, q, B, C, C);
                sink += probs[i % (B * C)];
            }
            const double t1 = bench_now_s();
            bench_figure("explorer", "probs_top_k_softmax", SETTING, 1,
                         1e9 * (t1 - t0) / ((double)reps * B), "ns/row", 0.0);
        }
        reco_explorer_free(e);
    }
    free(q);
    free(probs);
    fprintf(stderr, "bench_explorer: checksum %.6g\n", (double)sink);
    return 0;
}
