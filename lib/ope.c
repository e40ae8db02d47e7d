/* Off-policy evaluation from logs (include/reco/ope.h, docs/ope.md): importance weights
 * pi(a|s) / mu(a|s) of every logged step, then IPS, self-normalised IPS and doubly robust
 * values per decision and per session, with normal intervals over independent sessions.
 *
 * The states are rebuilt from the log as reco_fit_model() builds its examples (the user's
 * previous rows, across sessions, as the window; the rows before the session as the
 * long-term history), so that a model policy sees what the model was trained on. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "eval_private.h"
#include "log_private.h"
#include "model_private.h"
#include "reco/ope.h"

enum { BLOCK = 256 };

int reco_ope_options_init(reco_ope_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_ope_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_OPE_OPTIONS_VERSION, "reco_ope_options");
    if (rc < 0)
        return rc;
    const reco_ope_options d = RECO_OPE_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

/* The call's buffers: per row (rho, reward, direct value of the logged item, direct value
 * of the target's distribution), and one block of rebuilt states. */
typedef struct ope_buf {
    double *rho, *rew, *qa, *v;
    uint32_t *run;
    int32_t *items, *long_items, *pack;
    uint32_t *fb, *long_fb, *steps;
    float *elapsed, *feat, *probs, *direct, *scores;
} ope_buf;

static void describe(char *buf, size_t cap, const reco__log_cols *c, size_t r)
{
    snprintf(buf, cap, "row %zu (user %llu, session %llu, step %u)", r,
             (unsigned long long)c->user[r], (unsigned long long)c->session[r], c->step[r]);
}

static int check_options(reco_ope_options *o, const reco_ope_options *in, const char *fn)
{
    if (in == NULL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "reward_weights", "%s: options "
                                  "with the reward weights are required", fn);
    int rc = reco__check_version(in->version, RECO_OPE_OPTIONS_VERSION, "reco_ope_options");
    if (rc < 0)
        return rc;
    *o = *in;
    if (o->reward_weights == NULL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "reward_weights", "%s: "
                                  "reward_weights is NULL", fn);
    if (!(o->gamma >= 0.0f && o->gamma <= 1.0f))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "gamma", "%s: gamma %g is not in "
                                  "[0, 1]", fn, (double)o->gamma);
    if (!(o->clip == 0.0f || (isfinite(o->clip) && o->clip >= 1.0f)))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "clip", "%s: clip %g is neither 0 "
                                  "(none) nor finite and >= 1", fn, (double)o->clip);
    if (!(o->confidence > 0.0 && o->confidence < 1.0))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "confidence", "%s: confidence %g "
                                  "is not in (0, 1)", fn, o->confidence);
    return RECO_OK;
}

/* Copies the `h` rows before row `end` into a window of `w` slots, right-aligned, pads in
 * front (as lib/fit.c does for its examples). */
static void copy_window(int32_t *it, uint32_t *f, size_t w, const reco__log_cols *c,
                        size_t end, size_t h)
{
    for (size_t k = 0; k < w - h; k++) {
        it[k] = RECO_PAD;
        f[k] = 0;
    }
    for (size_t k = 0; k < h; k++) {
        it[w - h + k] = c->item[end - h + k];
        f[w - h + k] = c->fb[end - h + k];
    }
}

/* The batch of rows r0 .. r0 + n - 1 with their states rebuilt and the caller's candidates
 * (row stride C). */
static reco_batch block_states(ope_buf *b, const reco__log_cols *c, size_t r0, size_t n,
                               size_t L, size_t H, const int32_t *cand, size_t C)
{
    const size_t U = c->U;
    for (size_t k = 0; k < n; k++) {
        const size_t r = r0 + k, s0 = r - c->step[r];
        copy_window(b->items + k * L, b->fb + k * L, L, c, r, b->run[r] < L ? b->run[r] : L);
        b->steps[k] = c->step[r];
        const int64_t dt = c->ts[r] - c->ts[s0];
        b->elapsed[k] = dt > 0 ? (float)dt : 0.0f;
        if (H > 0)
            copy_window(b->long_items + k * H, b->long_fb + k * H, H, c, s0,
                        b->run[s0] < H ? b->run[s0] : H);
        if (U > 0)
            memcpy(b->feat + k * U, c->uf + r * U, U * sizeof(float));
    }
    reco_batch bt = RECO_BATCH_INIT;
    bt.size = (uint32_t)n;
    bt.items = b->items;
    bt.feedback = b->fb;
    bt.user_features = U > 0 ? b->feat : NULL;
    bt.n_candidates = (uint32_t)C;
    bt.candidates = cand + r0 * C;
    bt.shared_candidates = 0;
    bt.steps = b->steps;
    bt.elapsed = b->elapsed;
    bt.long_items = H > 0 ? b->long_items : NULL;
    bt.long_feedback = H > 0 ? b->long_fb : NULL;
    return bt;
}

static double sigmoid_d(double x)
{
    return x >= 0 ? 1.0 / (1.0 + reco__exp(-x)) : reco__exp(x) / (1.0 + reco__exp(x));
}

/* The model's expected immediate reward of every candidate of the block, (n, C), scored in
 * chunks of its max_batch rows packed to the chunk's widest row. */
static int model_direct(float *out, const reco_model *m, reco_workspace *ws, ope_buf *b,
                        const reco_batch *bt, const uint32_t *counts, const float *w,
                        uint32_t F)
{
    const size_t MB = m->opts.max_batch, C = bt->n_candidates, L = m->opts.lookback;
    const size_t H = m->opts.long_len, U = m->opts.user_dim;
    uint32_t heads[RECO_LOG_MAX_SIGNALS];
    for (uint32_t f = 0; f < F; f++)
        heads[f] = f;
    for (size_t i0 = 0; i0 < bt->size; i0 += MB) {
        const size_t k = bt->size - i0 < MB ? bt->size - i0 : MB;
        size_t W = 1;
        for (size_t i = 0; i < k; i++)
            W = counts[i0 + i] > W ? counts[i0 + i] : W;
        for (size_t i = 0; i < k; i++) {
            const int32_t *src = bt->candidates + (i0 + i) * C;
            for (size_t j = 0; j < W; j++)
                b->pack[i * W + j] = j < counts[i0 + i] ? src[j] : src[0];
        }
        reco_batch mb = *bt;
        mb.size = (uint32_t)k;
        mb.items = bt->items + i0 * L;
        mb.feedback = bt->feedback + i0 * L;
        mb.user_features = U > 0 ? bt->user_features + i0 * U : NULL;
        mb.n_candidates = (uint32_t)W;
        mb.candidates = b->pack;
        mb.steps = bt->steps + i0;
        mb.elapsed = bt->elapsed + i0;
        mb.long_items = H > 0 ? bt->long_items + i0 * H : NULL;
        mb.long_feedback = H > 0 ? bt->long_feedback + i0 * H : NULL;
        int rc = reco_model_score(b->scores, m, ws, &mb, heads, F);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < counts[i0 + i]; j++) {
                double q = 0.0;
                for (size_t f = 0; f < F; f++)
                    q += (double)w[f] * sigmoid_d((double)b->scores[(i * F + f) * W + j]);
                out[(i0 + i) * C + j] = (float)q;
            }
    }
    return RECO_OK;
}

static void free_buf(const reco_allocator *a, ope_buf *b)
{
    void *p[] = {b->rho,   b->rew,  b->qa,      b->v,     b->run,   b->items,
                 b->long_items, b->pack, b->fb, b->long_fb, b->steps, b->elapsed,
                 b->feat,  b->probs, b->direct, b->scores};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        reco__free(a, p[i]);
}

static void set_value(reco_ope_value *v, double value, double se, double z)
{
    v->value = value;
    v->se = se;
    v->lo = value - z * se;
    v->hi = value + z * se;
}

/* Standard error of a ratio sum_i a_i / sum_i d_i over m independent sessions, from the
 * per-session influence terms psi_i = (a_i - V d_i) / mean(d): sqrt(sum psi^2 / (m (m-1))).
 * NaN for fewer than 2 sessions. */
static double ratio_se(double sum_psi2, double mean_d, size_t m)
{
    if (m < 2 || !(mean_d > 0.0))
        return NAN;
    return sqrt(sum_psi2 / (mean_d * mean_d) / ((double)m * (double)(m - 1)));
}

/* The estimators, from the per-row rho, reward, qa and v (qa, v NULL: no DR). */
static int estimate(reco_ope_result *out, const reco_log *log, const ope_buf *b,
                    const reco_ope_options *o, int dr)
{
    const reco__log_cols *c = &log->rows;
    const size_t m = log->n_sessions, N = c->n;
    const double g = (double)o->gamma, clip = (double)o->clip;
    const double z = reco__normal_quantile(0.5 + o->confidence / 2.0);
    /* per decision: ratios over sessions; numerators a_ips, a_dr, a_sn, denominators n, w */
    double s_ips = 0, s_dr = 0, s_sn = 0, s_w = 0, s_r = 0;
    size_t T = 0;
    for (size_t i = 0; i < m; i++)
        T = log->sess_len[i] > T ? log->sess_len[i] : T;
    for (size_t r = 0; r < N; r++) {
        double rho = b->rho[r];
        if (clip > 0.0 && rho > clip)
            rho = clip;
        s_ips += rho * b->rew[r];
        s_sn += rho * b->rew[r];
        s_w += rho;
        s_r += b->rew[r];
        if (dr)
            s_dr += b->v[r] + rho * (b->rew[r] - b->qa[r]);
    }
    const double v_ips = s_ips / (double)N, v_dr = s_dr / (double)N;
    const double v_sn = s_w > 0.0 ? s_sn / s_w : NAN;
    out->logged_step = s_r / (double)N;
    /* per session: PDIS and step-wise DR returns; WPDIS needs per-step sums first */
    reco_allocator a = log->alloc;
    double *At = reco__calloc(&a, T + 1, sizeof(double));
    double *Bt = reco__calloc(&a, T + 1, sizeof(double));
    double *St = reco__calloc(&a, T + 2, sizeof(double));
    double *tail = reco__calloc(&a, T + 1, sizeof(double));
    if (At == NULL || Bt == NULL || St == NULL || tail == NULL) {
        reco__free(&a, At), reco__free(&a, Bt), reco__free(&a, St), reco__free(&a, tail);
        return RECO_ENOMEM;
    }
    double p_ips = 0, p_dr = 0, p_sn = 0, p_dp = 0, sum_g = 0, sum_g2 = 0, sum_d = 0;
    double sum_d2 = 0, sum_W = 0, sum_W2 = 0, sum_ret = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m; i++) {
            const size_t r0 = log->sess_first[i], n = log->sess_len[i];
            double prod = 1.0, W = 1.0, Wprev = 1.0, gt = 1.0, G = 0.0, D = 0.0, psi = 0.0;
            double a_ips = 0, a_dr = 0, a_sn = 0, d_w = 0, ret = 0;
            for (size_t t = 0; t < n; t++, gt *= g) {
                const size_t r = r0 + t;
                double rho = b->rho[r];
                if (clip > 0.0 && rho > clip)
                    rho = clip;
                prod *= b->rho[r];
                W = clip > 0.0 && prod > clip ? clip : prod;
                if (pass == 0 && clip > 0.0 && (b->rho[r] > clip || prod > clip))
                    out->clipped++;
                if (pass == 0) {
                    G += gt * W * b->rew[r];
                    if (dr)
                        D += gt * (W * (b->rew[r] - b->qa[r]) + Wprev * b->v[r]);
                    At[t] += W * b->rew[r];
                    Bt[t] += W;
                    ret += gt * b->rew[r];
                    out->max_weight = W > out->max_weight ? W : out->max_weight;
                } else if (Bt[t] > 0.0) {
                    psi += gt * W * (b->rew[r] - At[t] / Bt[t]) * (double)m / Bt[t];
                }
                a_ips += rho * b->rew[r];
                a_sn += rho * b->rew[r];
                d_w += rho;
                if (dr)
                    a_dr += b->v[r] + rho * (b->rew[r] - b->qa[r]);
                Wprev = W;
            }
            if (pass == 0) {
                tail[n] += W; /* absorbed after its end: weight W, reward 0 */
                sum_g += G, sum_g2 += G * G, sum_d += D, sum_d2 += D * D;
                sum_W += W, sum_W2 += W * W, sum_ret += ret;
                continue;
            }
            psi -= W * St[n];
            p_sn += psi * psi;
            const double ps = a_ips - v_ips * (double)n, pd = a_dr - v_dr * (double)n;
            const double pw = a_sn - v_sn * d_w;
            p_ips += ps * ps, p_dr += pd * pd, p_dp += pw * pw;
        }
        if (pass == 0) {
            /* A session of n steps is absorbed from step n on (reward 0, weight its last
             * W: the absorbing state has probability 1 under both policies), so B_t also
             * counts the weights of the sessions that ended by step t. Then the value
             * sum_t g^t A_t / B_t and S_t = sum_{u >= t} g^u V_u m / B_u, the influence of
             * an absorbed tail. */
            double acc = 0.0, vs = 0.0;
            for (size_t t = 0; t < T; t++) {
                acc += tail[t];
                Bt[t] += acc;
            }
            St[T] = 0.0;
            for (size_t t = T; t-- > 0;) {
                const double gt = reco__pow(g, (double)t);
                const double Vt = Bt[t] > 0.0 ? At[t] / Bt[t] : 0.0;
                vs += gt * Vt;
                St[t] = St[t + 1] + (Bt[t] > 0.0 ? gt * Vt * (double)m / Bt[t] : 0.0);
            }
            out->session[RECO_OPE_SNIPS].value = vs;
        }
    }
    const double dm = (double)m, mean_n = (double)N / dm;
    set_value(&out->step[RECO_OPE_IPS], v_ips, ratio_se(p_ips, mean_n, m), z);
    set_value(&out->step[RECO_OPE_SNIPS], v_sn, ratio_se(p_dp, s_w / dm, m), z);
    set_value(&out->step[RECO_OPE_DR], dr ? v_dr : NAN, dr ? ratio_se(p_dr, mean_n, m) : NAN,
              z);
    const double sd_g = m > 1 ? sqrt(fmax(0.0, (sum_g2 - sum_g * sum_g / dm) / (dm - 1.0)))
                              : NAN;
    const double sd_d = m > 1 ? sqrt(fmax(0.0, (sum_d2 - sum_d * sum_d / dm) / (dm - 1.0)))
                              : NAN;
    set_value(&out->session[RECO_OPE_IPS], sum_g / dm, sd_g / sqrt(dm), z);
    set_value(&out->session[RECO_OPE_SNIPS], out->session[RECO_OPE_SNIPS].value,
              m > 1 ? sqrt(p_sn / (dm * (dm - 1.0))) : NAN, z);
    set_value(&out->session[RECO_OPE_DR], dr ? sum_d / dm : NAN, dr ? sd_d / sqrt(dm) : NAN,
              z);
    out->logged_return = sum_ret / dm;
    out->ess = sum_W2 > 0.0 ? sum_W * sum_W / sum_W2 : 0.0;
    reco__free(&a, At), reco__free(&a, Bt), reco__free(&a, St), reco__free(&a, tail);
    return RECO_OK;
}

int reco_ope_estimate(reco_ope_result *out, const reco_log *log, const int32_t *candidates,
                      const uint32_t *counts, uint32_t max_candidates, const reco_policy *target,
                      const reco_ope_options *opts)
{
    static const char fn[] = "reco_ope_estimate";
    if (out == NULL || log == NULL || target == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, log and target must not be NULL", fn);
    int rc = reco__check_version(out->version, RECO_OPE_RESULT_VERSION, "reco_ope_result");
    if (rc < 0)
        return rc;
    reco_ope_options o = RECO_OPE_OPTIONS_INIT;
    if ((rc = check_options(&o, opts, fn)) < 0)
        return rc;
    const reco__log_cols *c = &log->rows;
    const size_t N = c->n, U = c->U;
    const uint32_t F = log->n_signals;
    if (N == 0)
        return reco__error_set(RECO_EINVAL, "%s: the log is empty", fn);
    if (!log->has_prop)
        return reco__error_set(RECO_EINVAL, "%s: the log has no propensity column: off-policy "
                               "estimates need the logging policy's probability of each "
                               "logged item", fn);
    if (candidates == NULL && counts == NULL && c->Cmax > 0) {
        /* the log's own candidates column */
        candidates = c->cand;
        counts = c->ncand;
        max_candidates = c->Cmax;
    }
    const size_t C = max_candidates;
    if (candidates == NULL || counts == NULL || C == 0)
        return reco__error_set(RECO_EINVAL, "%s: no candidates: the log has no candidates "
                               "column (reco_log_options max_candidates) and none were "
                               "passed; off-policy estimates need the sets the logging policy "
                               "chose from", fn);
    if (target->version < 4 || target->version > RECO_POLICY_VERSION ||
        target->probabilities == NULL)
        return reco__error_set(RECO_EINVAL, "%s: the target policy \"%s\" has no "
                               "probabilities() (a reco_policy of version 4 that sets it)", fn,
                               target->name != NULL ? target->name : "");
    char where[160];
    for (size_t r = 0; r < N; r++) {
        const float p = c->prop[r];
        if (!(p > 0.0f && p <= 1.0f)) {
            describe(where, sizeof where, c, r);
            return reco__error_set(RECO_EINVAL, "%s: %s has an unknown propensity: every row "
                                   "needs the logging policy's probability of its item", fn,
                                   where);
        }
        if (counts[r] == 0 || counts[r] > C) {
            describe(where, sizeof where, c, r);
            return reco__error_set(RECO_EINVAL, "%s: %s has %u candidates (need 1..%zu%s)",
                                   fn, where, counts[r], C,
                                   counts[r] == 0 ? "; 0: unknown" : "");
        }
        size_t j = 0;
        while (j < counts[r] && candidates[r * C + j] != c->item[r])
            j++;
        if (j == counts[r]) {
            describe(where, sizeof where, c, r);
            return reco__error_set(RECO_EINVAL, "%s: %s shows item %d, which is not among its "
                                   "%u candidates", fn, where, c->item[r], counts[r]);
        }
    }
    const reco_model *m = o.model;
    const int dr = m != NULL || o.direct != NULL;
    size_t L = o.lookback != 0 ? o.lookback
               : target->lookback != 0 ? target->lookback
               : m != NULL ? m->opts.lookback : 1;
    const size_t H = o.long_len;
    if (target->lookback != 0 && target->lookback != L)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "lookback", "%s: the target expects "
                                  "lookback %u, the states have %zu", fn, target->lookback, L);
    if (target->user_dim != 0 && target->user_dim != U)
        return reco__error_set(RECO_EINVAL, "%s: the target expects %u user features, the log "
                               "has %zu", fn, target->user_dim, U);
    if (m != NULL) {
        const reco_model_options *mo = &m->opts;
        if (mo->n_signals != F)
            return reco__error_set(RECO_EINVAL, "%s: the model has %u signals, the log %u", fn,
                                   mo->n_signals, F);
        if (mo->lookback != L || mo->long_len != H || (mo->user_dim != 0 && mo->user_dim != U))
            return reco__error_set(RECO_EINVAL, "%s: the model takes lookback %u, long_len %u "
                                   "and %u user features; the states have %zu, %zu and %zu",
                                   fn, mo->lookback, mo->long_len, mo->user_dim, L, H, U);
        if (C > mo->max_candidates) {
            uint32_t widest = 0;
            for (size_t r = 0; r < N; r++)
                widest = counts[r] > widest ? counts[r] : widest;
            if (widest > mo->max_candidates)
                return reco__error_set(RECO_EINVAL, "%s: a row has %u candidates; the model "
                                       "scores at most %u", fn, widest, mo->max_candidates);
        }
    }
    for (uint32_t f = 0; f < F; f++)
        if (!isfinite(o.reward_weights[f]))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "reward_weights", "%s: reward "
                                      "weight %u is not finite", fn, f);
    reco_allocator a;
    if ((rc = reco__allocator_resolve(&a, o.allocator)) < 0)
        return rc;
    const size_t MB = m != NULL ? m->opts.max_batch : 1, MC = m != NULL ? m->opts.max_candidates
                                                                         : 1;
    ope_buf b = {0};
    b.rho = reco__alloc(&a, N * sizeof(double), 0);
    b.rew = reco__alloc(&a, N * sizeof(double), 0);
    b.qa = reco__alloc(&a, N * sizeof(double), 0);
    b.v = reco__alloc(&a, N * sizeof(double), 0);
    b.run = reco__alloc(&a, N * sizeof(uint32_t), 0);
    b.items = reco__alloc(&a, BLOCK * L * sizeof(int32_t), 0);
    b.fb = reco__alloc(&a, BLOCK * L * sizeof(uint32_t), 0);
    b.long_items = reco__alloc(&a, (BLOCK * H + 1) * sizeof(int32_t), 0);
    b.long_fb = reco__alloc(&a, (BLOCK * H + 1) * sizeof(uint32_t), 0);
    b.steps = reco__alloc(&a, BLOCK * sizeof(uint32_t), 0);
    b.elapsed = reco__alloc(&a, BLOCK * sizeof(float), 0);
    b.feat = reco__alloc(&a, (BLOCK * U + 1) * sizeof(float), 0);
    b.probs = reco__alloc(&a, BLOCK * C * sizeof(float), 0);
    b.direct = reco__alloc(&a, BLOCK * C * sizeof(float), 0);
    b.pack = reco__alloc(&a, MB * MC * sizeof(int32_t), 0);
    b.scores = reco__alloc(&a, MB * MC * F * sizeof(float), 0);
    reco_workspace *ws = NULL;
    if (b.rho == NULL || b.rew == NULL || b.qa == NULL || b.v == NULL || b.run == NULL ||
        b.items == NULL || b.fb == NULL || b.long_items == NULL || b.long_fb == NULL ||
        b.steps == NULL || b.elapsed == NULL || b.feat == NULL || b.probs == NULL ||
        b.direct == NULL || b.pack == NULL || b.scores == NULL) {
        rc = RECO_ENOMEM;
        goto done;
    }
    if (m != NULL && (rc = reco_workspace_create(&ws, m)) < 0)
        goto done;
    {
        const size_t cap = L > H ? L : H;
        size_t k = 0;
        for (size_t r = 0; r < N; r++) {
            k = r > 0 && c->user[r] == c->user[r - 1] ? k + 1 : 0;
            b.run[r] = (uint32_t)(k < cap ? k : cap);
        }
    }
    for (size_t r0 = 0; r0 < N; r0 += BLOCK) {
        const size_t n = N - r0 < BLOCK ? N - r0 : BLOCK;
        reco_batch bt = block_states(&b, c, r0, n, L, H, candidates, C);
        uint64_t gen = 0;
        rc = RECO__CALLBACK(gen, "the target's probabilities()",
                            target->probabilities(b.probs, &bt, counts + r0, NULL,
                                                  target->payload));
        if (rc < 0)
            goto done;
        if (m != NULL)
            rc = model_direct(b.direct, m, ws, &b, &bt, counts + r0, o.reward_weights, F);
        else if (o.direct != NULL)
            rc = RECO__CALLBACK(gen, "the direct method",
                                o.direct(b.direct, &bt, counts + r0, o.direct_payload));
        if (rc < 0)
            goto done;
        for (size_t k = 0; k < n; k++) {
            const size_t r = r0 + k;
            const float *pr = b.probs + k * C, *q = b.direct + k * C;
            double sum = 0.0, v = 0.0, pa = 0.0, qa = 0.0;
            for (size_t j = 0; j < counts[r]; j++) {
                if (!(pr[j] >= 0.0f && pr[j] <= 1.0f)) {
                    describe(where, sizeof where, c, r);
                    rc = reco__error_set(RECO_EINVAL, "%s: the target's probability of "
                                         "candidate %zu at %s is %g, not in [0, 1]", fn, j,
                                         where, (double)pr[j]);
                    goto done;
                }
                if (dr && !isfinite(q[j])) {
                    describe(where, sizeof where, c, r);
                    rc = reco__error_set(RECO_EINVAL, "%s: the direct method's value of "
                                         "candidate %zu at %s is %g", fn, j, where,
                                         (double)q[j]);
                    goto done;
                }
                sum += pr[j];
                if (dr)
                    v += (double)pr[j] * q[j];
                /* a candidate listed twice: the item's probability is that of its copies */
                if (candidates[r * C + j] == c->item[r]) {
                    pa += pr[j];
                    qa = dr ? q[j] : 0.0;
                }
            }
            if (fabs(sum - 1.0) > 1e-3) {
                describe(where, sizeof where, c, r);
                rc = reco__error_set(RECO_EINVAL, "%s: the target's probabilities at %s sum "
                                     "to %g, not 1", fn, where, sum);
                goto done;
            }
            double rew = 0.0;
            for (uint32_t f = 0; f < F; f++)
                rew += (double)o.reward_weights[f] * (double)((c->fb[r] >> f) & 1u);
            b.rho[r] = pa / (double)c->prop[r];
            b.rew[r] = rew;
            b.qa[r] = qa;
            b.v[r] = v;
        }
    }
    {
        const unsigned int version = out->version;
        memset(out, 0, sizeof *out);
        out->version = version;
        out->sessions = log->n_sessions;
        out->steps = N;
        rc = estimate(out, log, &b, &o, dr);
    }
done:
    reco_workspace_free(ws);
    free_buf(&a, &b);
    return rc;
}
