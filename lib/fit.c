/* reco_fit_model: supervised training of the feedback model on logs (include/reco/fit.h).
 *
 * Examples are never materialised: a log in canonical order keeps each user's rows together
 * and in time order, and a session's rows together and in step order, so the state of row r
 * is just rows before it: its window the min(L, run[r]) rows before it (run[r] = rows of the
 * same user before r), its session's step 0 is row r - step[r], and its long-term history
 * the min(H, run[step 0]) rows before that. The per-row `run` array is the only index, built
 * once per call. Everything the call needs is allocated at its start from the model's
 * allocator; the epoch loop allocates nothing. */
#include <math.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "alloc_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "log_private.h"
#include "metrics_private.h"
#include "model_private.h"
#include "reco/fit.h"
#include "reco/rng.h"

#define ECE_BINS 10

int reco_fit_options_init(reco_fit_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_fit_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_FIT_OPTIONS_VERSION, "reco_fit_options");
    if (rc < 0)
        return rc;
    const reco_fit_options d = RECO_FIT_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

static int check_options(reco_fit_options *o, const reco_fit_options *in, const reco_model *m)
{
    static const char fn[] = "reco_fit_model";
    const reco_fit_options d = RECO_FIT_OPTIONS_INIT;
    *o = d;
    if (in != NULL) {
        int rc = reco__check_version(in->version, RECO_FIT_OPTIONS_VERSION, "reco_fit_options");
        if (rc < 0)
            return rc;
        *o = *in; /* version 1 is the whole struct */
    }
    if (o->epochs < 1 || o->epochs > 1000000)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "fit.epochs", "%s: epochs %u is "
                                  "out of range [1, 1000000]", fn, o->epochs);
    if (o->batch_size < 1 || o->batch_size > m->opts.max_batch)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "fit.batch_size", "%s: batch_size "
                                  "%u is out of range [1, %u] (the model's max_batch)", fn,
                                  o->batch_size, m->opts.max_batch);
    if (!(o->lr >= 1e-12 && o->lr <= 10.0))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "fit.lr", "%s: lr %g is out of "
                                  "range [1e-12, 10]", fn, o->lr);
    if (o->patience > 1000000)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "fit.patience", "%s: patience %u "
                                  "is out of range [0, 1000000]", fn, o->patience);
    if (!(o->min_delta >= 0.0 && o->min_delta <= 1e9))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "fit.min_delta", "%s: min_delta "
                                  "%g is out of range [0, 1e9]", fn, o->min_delta);
    if (!(o->popularity_prior >= 0.0 && o->popularity_prior <= 1e9))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "fit.popularity_prior", "%s: "
                                  "popularity_prior %g is out of range [0, 1e9]", fn,
                                  o->popularity_prior);
    if (o->checkpoint != NULL && o->checkpoint[0] == '\0')
        o->checkpoint = NULL;
    if (o->checkpoint != NULL && strlen(o->checkpoint) > 4095)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "fit.checkpoint", "%s: the "
                                  "checkpoint path is longer than 4095 bytes", fn);
    return RECO_OK;
}

static int check_log(const reco_log *log, const reco_model *m, const char *which)
{
    static const char fn[] = "reco_fit_model";
    if (log->rows.n == 0)
        return reco__error_set(RECO_EINVAL, "%s: the %s log is empty", fn, which);
    if (log->rows.n > UINT32_MAX)
        return reco__error_set(RECO_EINVAL, "%s: the %s log has %zu rows; at most %u are "
                               "supported", fn, which, log->rows.n, UINT32_MAX);
    if (log->n_signals != m->F)
        return reco__error_set(RECO_EINVAL, "%s: the %s log has %u signals, the model %zu", fn,
                               which, log->n_signals, m->F);
    /* a model without user features reads none (the log may have them) */
    if (m->U > 0 && log->user_dim != m->U)
        return reco__error_set(RECO_EINVAL, "%s: the %s log has %u user features per row, the "
                               "model %zu (user_dim)", fn, which, log->user_dim, m->U);
    for (size_t r = 0; r < log->rows.n; r++)
        if ((size_t)log->rows.item[r] >= m->N)
            return reco__error_set(RECO_EINVAL, "%s: row %zu of the %s log shows item %d, but "
                                   "the model has %zu items", fn, r, which, log->rows.item[r],
                                   m->N);
    return RECO_OK;
}

/* run[r] = number of the same user's rows before r, capped at `cap`. */
static void build_run(uint32_t *run, const reco__log_cols *c, size_t cap)
{
    size_t k = 0;
    for (size_t r = 0; r < c->n; r++) {
        k = r > 0 && c->user[r] == c->user[r - 1] ? k + 1 : 0;
        run[r] = (uint32_t)(k < cap ? k : cap);
    }
}

typedef struct fit_ctx {
    reco_model *m;
    size_t L, H, F1, B;
    int32_t *items;   /* (B, L) */
    uint32_t *fb;     /* (B, L) */
    int32_t *shown;   /* (B) */
    float *labels;    /* (B, F1) */
    float *logits;    /* (B, F1) scores */
    uint32_t *heads;  /* (F1) */
    uint32_t *steps;  /* (B) */
    float *elapsed;   /* (B) */
    int32_t *long_items; /* (B, H) */
    uint32_t *long_fb;   /* (B, H) */
    size_t U;
    float *feat;         /* (B, U) */
} fit_ctx;

/* Copies the `h` rows before row `end` into a window of `w` slots, right-aligned, pads in
 * front. */
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

/* Fills batch slot b with the example of row r. */
static void fill_example(fit_ctx *x, size_t b, const reco__log_cols *c, const uint32_t *run,
                         size_t r)
{
    const size_t L = x->L, H = x->H, F = x->F1 - 1;
    copy_window(x->items + b * L, x->fb + b * L, L, c, r, run[r] < L ? run[r] : L);
    /* the session's step 0 is r - step[r]: a session's rows are contiguous, in step order */
    const size_t s0 = r - c->step[r];
    x->steps[b] = c->step[r];
    const int64_t dt = c->ts[r] - c->ts[s0];
    x->elapsed[b] = dt > 0 ? (float)dt : 0.0f;
    if (H > 0)
        copy_window(x->long_items + b * H, x->long_fb + b * H, H, c, s0,
                    run[s0] < H ? run[s0] : H);
    if (x->U > 0)
        memcpy(x->feat + b * x->U, c->uf + r * x->U, x->U * sizeof(float));
    x->shown[b] = c->item[r];
    float *y = x->labels + b * x->F1;
    for (size_t s = 0; s < F; s++)
        y[s] = (float)((c->fb[r] >> s) & 1u);
    y[F] = (float)c->exit[r];
}

static reco_batch make_batch(const fit_ctx *x, size_t n)
{
    reco_batch bt = RECO_BATCH_INIT;
    bt.size = (uint32_t)n;
    bt.items = x->items;
    bt.feedback = x->fb;
    bt.user_features = x->U > 0 ? x->feat : NULL;
    bt.n_candidates = 1;
    bt.candidates = x->shown;
    bt.shared_candidates = 0;
    bt.steps = x->steps;
    bt.elapsed = x->elapsed;
    bt.long_items = x->H > 0 ? x->long_items : NULL;
    bt.long_feedback = x->H > 0 ? x->long_fb : NULL;
    return bt;
}

enum { K_MAX = RECO_LOG_MAX_SIGNALS + 1 };

/* Solves the k x k system in the augmented matrix A (k rows of k + 1) by Gaussian
 * elimination with partial pivoting; x gets 0 where a pivot vanishes. */
static void solve_linear(double A[K_MAX][K_MAX + 1], size_t k, double *x)
{
    for (size_t col = 0; col < k; col++) {
        size_t piv = col;
        for (size_t i = col + 1; i < k; i++)
            if (fabs(A[i][col]) > fabs(A[piv][col]))
                piv = i;
        for (size_t j = 0; j <= k; j++) {
            const double t = A[col][j];
            A[col][j] = A[piv][j];
            A[piv][j] = t;
        }
        for (size_t i = 0; i < k; i++) {
            if (i == col || A[col][col] == 0.0)
                continue;
            const double q = A[i][col] / A[col][col];
            for (size_t j = col; j <= k; j++)
                A[i][j] -= q * A[col][j];
        }
    }
    for (size_t i = 0; i < k; i++)
        x[i] = A[i][i] != 0.0 ? A[i][k] / A[i][i] : 0.0;
}

/* Least squares of the gaps between consecutive steps of a session against the earlier
 * step's signal bits: gap ~ base + sum_f seconds[f] bit_f, by the normal equations (F + 1
 * unknowns, a tiny ridge so that signals never seen get 0 rather than a singular system). */
static void fit_step_seconds(reco_fit_report *rep, const reco__log_cols *c, size_t F)
{
    enum { K = K_MAX };
    const size_t k = F + 1;
    double A[K][K + 1];
    memset(A, 0, sizeof A);
    uint64_t n = 0;
    for (size_t r = 0; r + 1 < c->n; r++) {
        if (c->user[r + 1] != c->user[r] || c->session[r + 1] != c->session[r])
            continue;
        double x[K];
        x[0] = 1.0;
        for (size_t f = 0; f < F; f++)
            x[1 + f] = (double)((c->fb[r] >> f) & 1u);
        const double y = (double)(c->ts[r + 1] - c->ts[r]);
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < k; j++)
                A[i][j] += x[i] * x[j];
            A[i][k] += x[i] * y;
        }
        n++;
    }
    rep->n_gaps = n;
    rep->step_seconds_base = 0.0;
    for (size_t f = 0; f < RECO_LOG_MAX_SIGNALS; f++)
        rep->step_seconds[f] = 0.0;
    if (n == 0)
        return;
    for (size_t i = 0; i < k; i++)
        A[i][i] += 1e-9 * (double)n;
    double x[K];
    solve_linear(A, k, x);
    rep->step_seconds_base = x[0];
    for (size_t f = 0; f < F; f++)
        rep->step_seconds[f] = x[1 + f];
}

/* The exit given the step's own signals: a logistic regression of the exit label on the
 * model's exit logit (an offset) and the signals' surprises, exit ~ sigmoid(z_exit +
 * sum_f tilt_f (bit_f - p_f)), by Newton's method with a small ridge, on rows with the
 * model's probabilities `pred` (n, F + 1). Centring on p_f keeps the exit's marginal about
 * the model's; the tilt says how the step's outcome moves it (a long watch keeps a user). */
static void fit_exit_tilt(double *tilt, const float *pred, const reco__log_cols *c, size_t F)
{
    const size_t n = c->n, F1 = F + 1;
    for (size_t f = 0; f < F; f++)
        tilt[f] = 0.0;
    if (n == 0)
        return;
    for (int it = 0; it < 12; it++) {
        double A[K_MAX][K_MAX + 1];
        memset(A, 0, sizeof A);
        for (size_t r = 0; r < n; r++) {
            const float *p = pred + r * F1;
            const double pe = fmin(fmax((double)p[F], 1e-7), 1.0 - 1e-7);
            double x[K_MAX], eta = reco__log(pe / (1.0 - pe));
            for (size_t f = 0; f < F; f++) {
                x[f] = (double)((c->fb[r] >> f) & 1u) - (double)p[f];
                eta += tilt[f] * x[f];
            }
            const double q = 1.0 / (1.0 + reco__exp(-eta)), wgt = q * (1.0 - q);
            const double y = (double)c->exit[r];
            for (size_t i = 0; i < F; i++) {
                for (size_t j = 0; j < F; j++)
                    A[i][j] += wgt * x[i] * x[j];
                A[i][F] += (y - q) * x[i];
            }
        }
        double step[K_MAX], big = 0.0;
        for (size_t i = 0; i < F; i++) {
            A[i][i] += 1e-4 * (double)n + 1e-9;
            A[i][F] -= 1e-4 * (double)n * tilt[i]; /* the ridge's gradient */
        }
        solve_linear(A, F, step);
        for (size_t f = 0; f < F; f++) {
            tilt[f] += step[f];
            big = fmax(big, fabs(step[f]));
        }
        if (big < 1e-6)
            break;
    }
}

static float sigmoidf_(float z)
{
    return z >= 0.0f ? 1.0f / (1.0f + reco__expf(-z)) : reco__expf(z) / (1.0f + reco__expf(z));
}

/* Model probabilities of every validation row: pred (n, F1). */
static int predict(fit_ctx *x, float *pred, const reco__log_cols *c, const uint32_t *run)
{
    const size_t n = c->n, F1 = x->F1;
    for (size_t r0 = 0; r0 < n; r0 += x->B) {
        const size_t nb = n - r0 < x->B ? n - r0 : x->B;
        for (size_t b = 0; b < nb; b++)
            fill_example(x, b, c, run, r0 + b);
        reco_batch bt = make_batch(x, nb);
        int rc = reco_model_score(x->logits, x->m, NULL, &bt, x->heads, (uint32_t)F1);
        if (rc < 0)
            return rc;
        for (size_t b = 0; b < nb; b++)
            for (size_t h = 0; h < F1; h++)
                pred[(r0 + b) * F1 + h] = sigmoidf_(x->logits[b * F1 + h]);
    }
    return RECO_OK;
}

/* Metrics of predictions `p` (n) against labels `y` (n). */
static int metrics_of(reco_fit_metrics *out, const float *p, const float *y, size_t n,
                      reco__auc_pair *scratch)
{
    double pos = 0.0, mean = 0.0;
    for (size_t i = 0; i < n; i++) {
        pos += y[i];
        mean += p[i];
    }
    int rc = reco_metrics_log_loss(&out->log_loss, p, y, n);
    if (rc == RECO_OK)
        rc = reco_metrics_ece(&out->ece, p, y, n, ECE_BINS);
    if (rc < 0)
        return rc;
    out->mean_prediction = mean / (double)n;
    if (pos > 0.0 && pos < (double)n) {
        if ((rc = reco__metrics_auc(&out->auc, p, y, n, scratch)) < 0)
            return rc;
    } else {
        out->auc = NAN;
    }
    return RECO_OK;
}

/* Output h of all rows: labels into y (n). */
static void labels_of(float *y, const reco__log_cols *c, size_t h, size_t F)
{
    for (size_t r = 0; r < c->n; r++)
        y[r] = h < F ? (float)((c->fb[r] >> h) & 1u) : (float)c->exit[r];
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int reco_fit_model(reco_fit_report *report, reco_model *model, const reco_log *train,
                   const reco_log *valid, const reco_fit_options *opts)
{
    static const char fn[] = "reco_fit_model";
    if (model == NULL || train == NULL)
        return reco__error_set(RECO_EINVAL, "%s: model and train must not be NULL", fn);
    if (report != NULL) {
        int rc = reco__check_version(report->version, RECO_FIT_REPORT_VERSION,
                                     "reco_fit_report");
        if (rc < 0)
            return rc;
        if (report->history_cap > 0 && report->train_loss == NULL && report->valid_loss == NULL)
            return reco__error_set(RECO_EINVAL, "%s: report history_cap is %u but both history "
                                   "arrays are NULL", fn, report->history_cap);
    }
    reco_fit_options o;
    int rc = check_options(&o, opts, model);
    if (rc < 0)
        return rc;
    if ((rc = check_log(train, model, "training")) < 0)
        return rc;
    if (valid != NULL && (rc = check_log(valid, model, "validation")) < 0)
        return rc;

    const reco_allocator *a = &model->alloc;
    const reco__log_cols *tc = &train->rows, *vc = valid != NULL ? &valid->rows : NULL;
    const size_t nt = tc->n, nv = vc != NULL ? vc->n : 0, F = model->F, F1 = F + 1;
    const size_t L = model->L, H = model->Hl, N = model->N, B = o.batch_size;
    const size_t P = model->lay.n_params;
    const size_t VB = model->opts.max_batch; /* validation batches use the model's maximum */
    const size_t BB = B > VB ? B : VB;
    fit_ctx x;
    memset(&x, 0, sizeof x);
    x.m = model;
    x.L = L;
    x.H = H;
    x.F1 = F1;
    x.B = VB;
    uint32_t *hist_t = reco__alloc(a, nt * sizeof(uint32_t), 0);
    uint32_t *hist_v = reco__alloc(a, (nv + 1) * sizeof(uint32_t), 0);
    x.steps = reco__alloc(a, BB * sizeof(uint32_t), 0);
    x.elapsed = reco__alloc(a, BB * sizeof(float), 0);
    x.long_items = reco__alloc(a, (BB * H + 1) * sizeof(int32_t), 0);
    x.long_fb = reco__alloc(a, (BB * H + 1) * sizeof(uint32_t), 0);
    x.U = model->U;
    x.feat = reco__alloc(a, (BB * x.U + 1) * sizeof(float), 0);
    uint32_t *perm = reco__alloc(a, nt * sizeof(uint32_t), 0);
    float *pred = reco__alloc(a, (nv * F1 + 1) * sizeof(float), 0);
    float *yv = reco__alloc(a, (nv + 1) * sizeof(float), 0);
    float *pv = reco__alloc(a, (nv + 1) * sizeof(float), 0);
    reco__auc_pair *scratch = reco__alloc(a, (nv + 1) * sizeof(reco__auc_pair), 0);
    uint64_t *cnt = reco__calloc(a, N, sizeof(uint64_t));
    uint64_t *pos = reco__calloc(a, N * F1, sizeof(uint64_t));
    float *best = reco__alloc(a, P * sizeof(float), 0);
    x.items = reco__alloc(a, BB * L * sizeof(int32_t), 0);
    x.fb = reco__alloc(a, BB * L * sizeof(uint32_t), 0);
    x.shown = reco__alloc(a, BB * sizeof(int32_t), 0);
    x.labels = reco__alloc(a, BB * F1 * sizeof(float), 0);
    x.logits = reco__alloc(a, BB * F1 * sizeof(float), 0);
    x.heads = reco__alloc(a, F1 * sizeof(uint32_t), 0);
    if (!hist_t || !hist_v || !perm || !pred || !yv || !pv || !scratch || !cnt || !pos ||
        !best || !x.items || !x.fb || !x.shown || !x.labels || !x.logits || !x.heads ||
        !x.steps || !x.elapsed || !x.long_items || !x.long_fb || !x.feat) {
        rc = RECO_ENOMEM;
        goto done;
    }
    for (size_t h = 0; h < F1; h++)
        x.heads[h] = (uint32_t)h;
    const size_t run_cap = L > H ? L : H;
    build_run(hist_t, tc, run_cap);
    if (vc != NULL)
        build_run(hist_v, vc, run_cap);

    reco_fit_report rep;
    memset(&rep, 0, sizeof rep);
    rep.n_outputs = (uint32_t)F1;
    rep.n_train = nt;
    rep.n_valid = nv;
    rep.best_valid_loss = NAN;
    for (size_t h = 0; h < RECO_FIT_MAX_OUTPUTS; h++)
        rep.oracle[h].log_loss = rep.oracle[h].auc = rep.oracle[h].ece =
            rep.oracle[h].mean_prediction = NAN;
    fit_step_seconds(&rep, tc, F);

    /* Baselines from the training log. */
    double gsum[RECO_FIT_MAX_OUTPUTS] = {0};
    for (size_t r = 0; r < nt; r++) {
        const size_t i = (size_t)tc->item[r];
        cnt[i]++;
        for (size_t h = 0; h < F1; h++) {
            const unsigned y = h < F ? (tc->fb[r] >> h) & 1u : tc->exit[r];
            pos[i * F1 + h] += y;
            gsum[h] += y;
        }
    }
    for (size_t h = 0; h < F1; h++)
        rep.train_rate[h] = gsum[h] / (double)nt;
    if (vc != NULL) {
        for (size_t h = 0; h < F1; h++) {
            labels_of(yv, vc, h, F);
            double s = 0.0;
            for (size_t r = 0; r < nv; r++)
                s += yv[r];
            rep.valid_rate[h] = s / (double)nv;
            const float g = (float)rep.train_rate[h];
            for (size_t r = 0; r < nv; r++)
                pv[r] = g;
            if ((rc = metrics_of(&rep.global_rate[h], pv, yv, nv, scratch)) < 0)
                goto done;
            const double alpha = o.popularity_prior;
            for (size_t r = 0; r < nv; r++) {
                const size_t i = (size_t)vc->item[r];
                const double den = (double)cnt[i] + alpha;
                pv[r] = den > 0.0 ? (float)(((double)pos[i * F1 + h] + alpha * rep.train_rate[h])
                                            / den)
                                  : g;
            }
            if ((rc = metrics_of(&rep.popularity[h], pv, yv, nv, scratch)) < 0)
                goto done;
            /* the truth on the same rows, where the log knows it (rows with a NaN oracle
             * value are left out: pv/yv are compacted) */
            if (vc->n_oracle == F1) {
                size_t k = 0;
                for (size_t r = 0; r < nv; r++) {
                    const float q = vc->oracle[r * F1 + h];
                    if (q == q) {
                        pv[k] = q;
                        yv[k++] = h < F ? (float)((vc->fb[r] >> h) & 1u) : (float)vc->exit[r];
                    }
                }
                if (k > 0) {
                    if ((rc = metrics_of(&rep.oracle[h], pv, yv, k, scratch)) < 0)
                        goto done;
                    rep.has_oracle = 1;
                }
            }
        }
    }

    if ((rc = reco_model_set_param(model, RECO_MODEL_PARAM_LR, o.lr)) < 0)
        goto done;
    memcpy(best, model->params, P * sizeof(float));
    int have_best = 0;
    double best_loss = INFINITY;
    uint32_t since_best = 0;
    const size_t per_epoch = o.max_examples_per_epoch > 0 && o.max_examples_per_epoch < nt
                                 ? (size_t)o.max_examples_per_epoch : nt;
    reco_fit_epoch ep;
    /* Training proper: from here on an error restores the best weights seen. */
    for (uint32_t e = 1; e <= o.epochs; e++) {
        const double t0 = now_seconds();
        memset(&ep, 0, sizeof ep);
        ep.version = RECO_FIT_EPOCH_VERSION;
        ep.epoch = e;
        ep.n_outputs = (uint32_t)F1;
        ep.valid_loss = NAN;
        reco_rng rng;
        reco_rng_seed(&rng, o.seed, e);
        if ((rc = reco_rng_permutation(perm, &rng, nt)) < 0)
            goto fail;
        double loss_sum = 0.0;
        for (size_t s = 0; s < per_epoch; s += B) {
            const size_t nb = per_epoch - s < B ? per_epoch - s : B;
            for (size_t b = 0; b < nb; b++)
                fill_example(&x, b, tc, hist_t, perm[s + b]);
            reco_batch bt = make_batch(&x, nb);
            double loss = 0.0;
            if ((rc = reco_model_train_bce(&loss, model, &bt, x.shown, x.labels, NULL)) < 0 ||
                (rc = reco_model_step(NULL, model)) < 0)
                goto fail;
            loss_sum += loss * (double)nb;
        }
        ep.n_examples = per_epoch;
        ep.train_loss = loss_sum / (double)per_epoch;
        if (vc != NULL) {
            if ((rc = predict(&x, pred, vc, hist_v)) < 0)
                goto fail;
            double vl = 0.0;
            for (size_t h = 0; h < F1; h++) {
                labels_of(yv, vc, h, F);
                for (size_t r = 0; r < nv; r++)
                    pv[r] = pred[r * F1 + h];
                if ((rc = metrics_of(&ep.model[h], pv, yv, nv, scratch)) < 0)
                    goto fail;
                vl += ep.model[h].log_loss;
            }
            ep.valid_loss = vl;
            ep.improved = !have_best || vl < best_loss - o.min_delta;
        } else {
            ep.improved = 1;
        }
        if (ep.improved) {
            have_best = 1;
            since_best = 0;
            best_loss = ep.valid_loss;
            rep.best_epoch = e;
            rep.best_valid_loss = ep.valid_loss;
            memcpy(rep.model, ep.model, sizeof rep.model);
            memcpy(best, model->params, P * sizeof(float));
            if (o.checkpoint != NULL && (rc = reco_model_save(model, o.checkpoint, 0)) < 0)
                goto fail;
        } else {
            since_best++;
        }
        rep.epochs_run = e;
        if (report != NULL && e <= report->history_cap) {
            if (report->train_loss != NULL)
                report->train_loss[e - 1] = ep.train_loss;
            if (report->valid_loss != NULL)
                report->valid_loss[e - 1] = ep.valid_loss;
        }
        ep.seconds = now_seconds() - t0;
        if (o.progress != NULL && o.progress(&ep, o.payload) != 0) {
            rep.cancelled = 1;
            break;
        }
        if (vc != NULL && o.patience > 0 && since_best >= o.patience) {
            rep.stopped_early = e < o.epochs;
            break;
        }
    }
    memcpy(model->params, best, P * sizeof(float));
    if (vc != NULL) {
        /* the exit given the step's signals, on the held-out rows with the best weights */
        if ((rc = predict(&x, pred, vc, hist_v)) < 0)
            goto done;
        fit_exit_tilt(rep.exit_tilt, pred, vc, F);
    }
    if (report != NULL) {
        rep.version = report->version;
        rep.history_cap = report->history_cap;
        rep.train_loss = report->train_loss;
        rep.valid_loss = report->valid_loss;
        /* a version-1 report ends before has_oracle */
        memcpy(report, &rep, report->version >= 2 ? sizeof rep
                                                  : offsetof(reco_fit_report, has_oracle));
    }
    rc = RECO_OK;
    goto done;
fail:
    if (have_best)
        memcpy(model->params, best, P * sizeof(float));
done:
    reco__free(a, hist_t);
    reco__free(a, hist_v);
    reco__free(a, perm);
    reco__free(a, pred);
    reco__free(a, yv);
    reco__free(a, pv);
    reco__free(a, scratch);
    reco__free(a, cnt);
    reco__free(a, pos);
    reco__free(a, best);
    reco__free(a, x.items);
    reco__free(a, x.fb);
    reco__free(a, x.shown);
    reco__free(a, x.labels);
    reco__free(a, x.logits);
    reco__free(a, x.heads);
    reco__free(a, x.steps);
    reco__free(a, x.elapsed);
    reco__free(a, x.long_items);
    reco__free(a, x.long_fb);
    reco__free(a, x.feat);
    return rc;
}
