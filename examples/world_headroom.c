/* world-headroom: how much a policy that looks ahead gains over one that maximises the
 * immediate reward, in the built-in ground-truth world.
 *
 * Runs the same evaluation sessions (same users, same candidate sets, same random numbers
 * where the choices coincide) under four policies and prints, per policy, the mean and 95%
 * confidence interval of session depth, long watches, reward, hides and distinct topics per
 * session. With --carry, users return with their real past (world.carry_history): each
 * evaluated user first has a few sessions logged under a uniformly random feed, and every
 * policy's evaluation session starts from that logged history. Public API only. See
 * docs/world.md for the world and for the printed tables.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECO_LAB_API /* world and configuration are lab API (docs/abi.md) */
#include <reco/reco.h>

static void usage(FILE *to)
{
    fprintf(to,
        "NAME\n"
        "    world-headroom - compare four policies in the libreco ground-truth world\n\n"
        "SYNOPSIS\n"
        "    world-headroom [--sessions N] [--seed S] [--batch B] [--config FILE.yaml]\n"
        "                   [--carry] [--log-sessions K]\n\n"
        "DESCRIPTION\n"
        "    Runs N evaluation sessions (reco_world_eval_users) under each policy:\n"
        "      random      a uniformly random candidate;\n"
        "      popular     the candidate with the highest popularity prior;\n"
        "      greedy      the candidate with the highest true expected immediate reward\n"
        "                  (reco_world_expected_reward: the myopic oracle);\n"
        "      lookahead   the same expected reward, plus a bonus for quality and penalties\n"
        "                  for clickbait and for topics shown recently in the session\n"
        "                  (item attributes from reco_world_item_info).\n"
        "    Every policy meets the same users and candidate sets. Prints a table of means\n"
        "    with 95%% confidence intervals (mean +- 1.96 sd / sqrt(N)).\n"
        "    With carried history (--carry, or world.carry_history in the file), each user\n"
        "    that the evaluation meets first has K sessions logged under a uniformly random\n"
        "    feed (session ordinals 0..K-1, in order); evaluation sessions start from the\n"
        "    user's last logged interactions and never add to them, so every policy starts\n"
        "    from the same state.\n\n"
        "OPTIONS\n"
        "    --sessions N      sessions per policy (default 2000)\n"
        "    --seed S          world seed (default 1; overrides the file's world.seed)\n"
        "    --batch B         sessions stepped together, 1..max_sessions (default 250)\n"
        "    --config FILE     take the world options from the `world` section of FILE\n"
        "    --carry           turn world.carry_history on (users return with their past)\n"
        "    --log-sessions K  logged sessions per user before the evaluation, with carried\n"
        "                      history, 0..1000 (default 3)\n"
        "    -h, --help        show this text\n\n"
        "EXIT STATUS\n"
        "    0 success; 1 library error (the message says which); 2 bad command line.\n");
}

enum { POLICY_RANDOM, POLICY_POPULAR, POLICY_GREEDY, POLICY_LOOKAHEAD, N_POLICIES };
static const char *const policy_names[N_POLICIES] = { "random", "popular", "greedy",
                                                      "lookahead" };

enum { M_DEPTH, M_WATCH, M_REWARD, M_HIDE, M_TOPICS, N_METRICS };
static const char *const metric_names[N_METRICS] = { "depth", "long watches", "reward",
                                                     "hides", "topics" };

/* Weights of the look-ahead policy's heuristic, in units of a long watch: quality builds
 * satisfaction, clickbait spends it, and a topic shown recently is tiring. The recency of a
 * topic is the sum over this session's earlier steps that showed it of 0.7^(age - 1). The
 * weights were picked on a small grid (quality {0, 0.3}, clickbait {0.3, 0.6}, recency
 * {0.1, 0.2, 0.3}, decay {0.5, 0.7}) with world seed 2, not with the seed the docs report. */
#define LA_QUALITY 0.3
#define LA_CLICKBAIT 0.3
#define LA_RECENT 0.2
#define LA_RECENCY_DECAY 0.7

typedef struct run {
    reco_world *w;
    reco_env env;
    uint32_t n_topics, C, L, B;
    /* per slot in the batch */
    int32_t *cand;      /* (B, C) */
    uint32_t *count;    /* (B) */
    int32_t *choice;    /* (B) */
    uint32_t *slots;    /* (B) active slots */
    uint32_t *fb;       /* (B) */
    float *reward;      /* (B) */
    int *done;          /* (B) */
    double *recent;     /* (B, K) recency of each topic in the session */
    unsigned char *seen_topic; /* (B, K) */
    double *metric;     /* (B, N_METRICS) of the running sessions */
    /* per candidate scratch */
    float *er, *quality, *clickbait, *popularity;
    uint32_t *topic;
    int32_t *window;    /* (L) observed items of one slot */
    uint32_t *window_fb;
    reco_rng rng;
} run;

static int fail(const char *what)
{
    fprintf(stderr, "world-headroom: %s: %s [%s]\n", what, reco_error_message(),
            reco_status_name(reco_error_code()));
    return 1;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        fprintf(stderr, "world-headroom: out of memory\n");
        exit(1);
    }
    return p;
}

/* Chooses an index into slot b's candidates. */
static int choose(uint32_t *out, run *r, int policy, uint32_t b)
{
    const uint32_t slot = b, n = r->count[b];
    const int32_t *cand = r->cand + (size_t)b * r->C;
    if (policy == POLICY_RANDOM) {
        *out = (uint32_t)reco_rng_below(&r->rng, n);
        return RECO_OK;
    }
    int rc = reco_world_item_info(r->topic, r->quality, r->clickbait, r->popularity, r->w,
                                  cand, n);
    if (rc < 0)
        return rc;
    if (policy != POLICY_POPULAR) {
        rc = reco_world_expected_reward(r->er, r->w, slot, cand, n);
        if (rc < 0)
            return rc;
    } else {
        /* a popularity feed does not show again what the user has just seen */
        rc = r->env.observe(r->window, r->window_fb, NULL, &slot, 1, r->env.payload);
        if (rc < 0)
            return rc;
    }
    double best = -INFINITY;
    uint32_t arg = 0;
    for (uint32_t j = 0; j < n; j++) {
        double s;
        switch (policy) {
        case POLICY_POPULAR:
            s = r->popularity[j];
            for (uint32_t t = 0; t < r->L; t++)
                if (r->window[t] == cand[j])
                    s = -1.0;
            break;
        case POLICY_GREEDY: s = r->er[j]; break;
        default:
            s = r->er[j] + LA_QUALITY * r->quality[j] - LA_CLICKBAIT * r->clickbait[j] -
                LA_RECENT * r->recent[(size_t)b * r->n_topics + r->topic[j]];
            break;
        }
        if (s > best) {
            best = s;
            arg = j;
        }
    }
    *out = arg;
    return RECO_OK;
}

typedef struct stats {
    double sum[N_METRICS], sum2[N_METRICS];
    double n;
} stats;

static void add_session(stats *st, const double *m)
{
    for (int k = 0; k < N_METRICS; k++) {
        st->sum[k] += m[k];
        st->sum2[k] += m[k] * m[k];
    }
    st->n += 1.0;
}

/* Runs the sessions of `keys` (nb of them) in slots 0..nb-1; `st` NULL: keep no metrics. */
static int run_batch(run *r, int policy, const uint64_t *keys, uint32_t nb, stats *st)
{
    uint32_t active = nb;
    for (uint32_t b = 0; b < nb; b++)
        r->slots[b] = b;
    int rc = r->env.reset(r->slots, keys, nb, r->env.payload);
    if (rc < 0)
        return rc;
    memset(r->recent, 0, sizeof(double) * nb * r->n_topics);
    memset(r->seen_topic, 0, (size_t)nb * r->n_topics);
    memset(r->metric, 0, sizeof(double) * nb * N_METRICS);
    uint32_t *act = xcalloc(nb, sizeof *act); /* slots still running */
    int32_t *items = xcalloc(nb, sizeof *items);
    for (uint32_t b = 0; b < nb; b++)
        act[b] = b;
    while (active > 0 && rc == RECO_OK) {
        /* candidates of every running slot, one batched call; rows indexed by slot */
        for (uint32_t a = 0; a < active && rc == RECO_OK; a++)
            rc = r->env.candidates(r->cand + (size_t)act[a] * r->C, &r->count[act[a]], r->C,
                                   &act[a], 1, r->env.payload);
        for (uint32_t a = 0; a < active && rc == RECO_OK; a++) {
            uint32_t j = 0;
            rc = choose(&j, r, policy, act[a]);
            items[a] = r->cand[(size_t)act[a] * r->C + j];
        }
        if (rc == RECO_OK)
            rc = r->env.step(r->fb, r->reward, r->done, act, items, active, r->env.payload);
        if (rc < 0)
            break;
        uint32_t keep = 0;
        for (uint32_t a = 0; a < active; a++) {
            const uint32_t b = act[a];
            uint32_t topic;
            rc = reco_world_item_info(&topic, NULL, NULL, NULL, r->w, &items[a], 1);
            if (rc < 0)
                break;
            double *m = r->metric + (size_t)b * N_METRICS;
            double *rec = r->recent + (size_t)b * r->n_topics;
            for (uint32_t k = 0; k < r->n_topics; k++)
                rec[k] *= LA_RECENCY_DECAY;
            rec[topic] += 1.0;
            if (!r->seen_topic[(size_t)b * r->n_topics + topic]) {
                r->seen_topic[(size_t)b * r->n_topics + topic] = 1;
                m[M_TOPICS] += 1.0;
            }
            m[M_DEPTH] += 1.0;
            m[M_WATCH] += (r->fb[a] >> RECO_SIGNAL_LONG_WATCH) & 1u;
            m[M_HIDE] += (r->fb[a] >> RECO_SIGNAL_HIDE) & 1u;
            m[M_REWARD] += r->reward[a];
            if (r->done[a]) {
                if (st != NULL)
                    add_session(st, m);
            } else
                act[keep++] = b;
        }
        active = keep;
    }
    free(act);
    free(items);
    return rc;
}

int main(int argc, char **argv)
{
    uint32_t n_sessions = 2000, batch = 250, log_sessions = 3;
    uint64_t seed = 1;
    int seed_given = 0, carry = 0;
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--carry") == 0) {
            carry = 1;
            continue;
        }
        if (strcmp(a, "--sessions") == 0 || strcmp(a, "--seed") == 0 ||
            strcmp(a, "--batch") == 0 || strcmp(a, "--config") == 0 ||
            strcmp(a, "--log-sessions") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "world-headroom: %s needs an argument (see --help)\n", a);
                return 2;
            }
            const char *v = argv[++i];
            char *end = NULL;
            if (strcmp(a, "--config") == 0) {
                config = v;
                continue;
            }
            unsigned long long x = strtoull(v, &end, 10);
            if (end == v || *end != '\0' || v[0] == '-') {
                fprintf(stderr, "world-headroom: %s: '%s' is not a non-negative integer\n", a,
                        v);
                return 2;
            }
            if (strcmp(a, "--seed") == 0) {
                seed = x;
                seed_given = 1;
            } else if (strcmp(a, "--log-sessions") == 0) {
                if (x > 1000) {
                    fprintf(stderr, "world-headroom: --log-sessions must be in 0..1000\n");
                    return 2;
                }
                log_sessions = (uint32_t)x;
            } else if (x < 1 || x > 10000000ull) {
                fprintf(stderr, "world-headroom: %s must be in 1..10000000\n", a);
                return 2;
            } else if (strcmp(a, "--sessions") == 0) {
                n_sessions = (uint32_t)x;
            } else {
                batch = (uint32_t)x;
            }
        } else {
            fprintf(stderr, "world-headroom: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }

    reco_world_options wo = RECO_WORLD_OPTIONS_INIT;
    if (config != NULL) {
        reco_config *cfg = NULL;
        int rc = reco_config_create(&cfg, NULL);
        if (rc == RECO_OK)
            rc = reco_config_load_file(cfg, config);
        if (rc == RECO_OK)
            rc = reco_config_get_world(&wo, cfg);
        reco_config_free(cfg);
        if (rc < 0)
            return fail(config);
    }
    if (seed_given || config == NULL)
        wo.seed = seed;
    if (carry)
        wo.carry_history = 1;
    if (batch > wo.max_sessions)
        batch = wo.max_sessions;
    if (batch > n_sessions)
        batch = n_sessions;

    run r;
    memset(&r, 0, sizeof r);
    if (reco_world_create(&r.w, &wo) < 0)
        return fail("reco_world_create");
    if (reco_world_env(&r.env, r.w) < 0)
        return fail("reco_world_env");
    r.n_topics = wo.n_topics;
    r.C = wo.n_candidates;
    r.L = wo.lookback;
    r.B = batch;
    r.cand = xcalloc((size_t)batch * r.C, sizeof *r.cand);
    r.count = xcalloc(batch, sizeof *r.count);
    r.choice = xcalloc(batch, sizeof *r.choice);
    r.slots = xcalloc(batch, sizeof *r.slots);
    r.fb = xcalloc(batch, sizeof *r.fb);
    r.reward = xcalloc(batch, sizeof *r.reward);
    r.done = xcalloc(batch, sizeof *r.done);
    r.recent = xcalloc((size_t)batch * r.n_topics, sizeof *r.recent);
    r.seen_topic = xcalloc((size_t)batch * r.n_topics, 1);
    r.metric = xcalloc((size_t)batch * N_METRICS, sizeof *r.metric);
    r.er = xcalloc(r.C, sizeof *r.er);
    r.quality = xcalloc(r.C, sizeof *r.quality);
    r.clickbait = xcalloc(r.C, sizeof *r.clickbait);
    r.popularity = xcalloc(r.C, sizeof *r.popularity);
    r.topic = xcalloc(r.C, sizeof *r.topic);
    r.window = xcalloc(r.L, sizeof *r.window);
    r.window_fb = xcalloc(r.L, sizeof *r.window_fb);

    printf("world: seed %llu, %u users, %u items, %u topics, %u candidates, max length %u; "
           "%u sessions per policy\n",
           (unsigned long long)wo.seed, wo.n_users, wo.n_items, wo.n_topics, wo.n_candidates,
           wo.max_session_len, n_sessions);
    uint64_t *keys = xcalloc(batch, sizeof *keys);
    if (wo.carry_history) {
        /* The evaluated users' past: K logged sessions each under a uniformly random feed,
         * each user's sessions in order (round k of every user before round k + 1). */
        const uint32_t nu = n_sessions < wo.n_users ? n_sessions : wo.n_users;
        reco_rng_seed(&r.rng, wo.seed, 999);
        for (uint32_t k = 0; k < log_sessions; k++)
            for (uint32_t first = 0; first < nu; first += batch) {
                const uint32_t nb = nu - first < batch ? nu - first : batch;
                for (uint32_t b = 0; b < nb; b++)
                    keys[b] = RECO_WORLD_SESSION_KEY(first + b, k);
                if (run_batch(&r, POLICY_RANDOM, keys, nb, NULL) < 0)
                    return fail("logging");
            }
        uint64_t stored = 0;
        for (uint32_t u = 0; u < nu; u++) {
            uint64_t user = u, c = 0;
            if (reco_world_user_history_len(&c, r.w, &user, 1) < 0)
                return fail("reco_world_user_history_len");
            stored += c;
        }
        printf("carried history: %u logged sessions per user under a random feed, users "
               "0..%u, %.1f interactions per user; %.1f MB for the store\n",
               log_sessions, nu - 1, (double)stored / nu,
               (double)wo.n_users * (8.0 + 8.0 * (wo.lookback > wo.long_len ? wo.lookback
                                                                           : wo.long_len)) /
                   1e6);
    }
    printf("%-10s", "policy");
    for (int k = 0; k < N_METRICS; k++)
        printf(k + 1 < N_METRICS ? " | %-17s" : " | %s", metric_names[k]);
    printf("\n");
    int status = 0;
    for (int p = 0; p < N_POLICIES && status == 0; p++) {
        stats st;
        memset(&st, 0, sizeof st);
        reco_rng_seed(&r.rng, wo.seed, 1000 + (uint64_t)p);
        for (uint64_t first = 0; first < n_sessions && status == 0; first += batch) {
            uint32_t nb = (uint32_t)(n_sessions - first < batch ? n_sessions - first : batch);
            if (reco_world_eval_users(keys, r.w, first, nb) < 0 ||
                run_batch(&r, p, keys, nb, &st) < 0)
                status = fail(policy_names[p]);
        }
        if (status != 0)
            break;
        printf("%-10s", policy_names[p]);
        for (int k = 0; k < N_METRICS; k++) {
            const double mean = st.sum[k] / st.n;
            const double var = st.n > 1 ? (st.sum2[k] - st.n * mean * mean) / (st.n - 1) : 0;
            const double ci = 1.96 * sqrt(var > 0 ? var : 0) / sqrt(st.n);
            printf(" | %7.3f +- %6.3f", mean, ci);
        }
        printf("\n");
    }

    reco_world_free(r.w);
    free(r.cand); free(r.count); free(r.choice); free(r.slots); free(r.fb); free(r.reward);
    free(r.done); free(r.recent); free(r.seen_topic); free(r.metric); free(r.er);
    free(r.quality); free(r.clickbait); free(r.popularity); free(r.topic);
    free(r.window); free(r.window_fb); free(keys);
    return status;
}
