/* reco_explorer: exploration rules over Q-values. Formulas in include/reco/explorer.h and
 * docs/explorer.md.
 *
 * One allocation at creation holds the handle and its workspace (max_candidates values,
 * member indices and weights); select and probs never allocate. Both calls validate the
 * whole Q matrix before they draw or write anything, so a failed call changes nothing.
 *
 * select and probs share the per-row code below (row_scan, build_members, mix_prob), so the
 * probability select reports for its choice is bit-identical to the entry probs writes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "explorer_private.h"

#define MAX_CANDIDATES (1u << 24)
#define EPS_MIN 0.0
#define EPS_MAX 1.0
#define TAU_MIN 1e-30
#define TAU_MAX 1e30
#define FRACTION_MIN 1e-9
#define FRACTION_MAX 1.0
/* Slack subtracted before ceil() in K = ceil(f n): absorbs products such as 0.1 * 30 =
 * 3.0000000000000004 that binary round-off pushes just above an integer. */
#define K_ROUND_SLACK 1e-6

struct reco_explorer {
    reco_allocator alloc;
    reco_explorer_options opts; /* as created; opts.allocator is NULL (copied into alloc) */
    /* Knobs: the options, until reco_explorer_set_param() changes them. */
    reco_explorer_rule rule;
    reco_explorer_schedule eps_sched;
    reco_explorer_schedule tau_sched;
    double top_k_fraction;
    uint32_t top_k_count;
    uint64_t step;
    reco_rng rng;
    size_t max_candidates;
    /* Workspace, (max_candidates) each. */
    float *buf[3];   /* the quickselect's buffers; buf[0] then holds the exponents */
    uint32_t *idx;   /* members of the softmax support, ascending column index */
    float *w;        /* their unnormalised weights exp((q - q*) / tau) */
};

/* ---- options ------------------------------------------------------------------------------ */

int reco_explorer_options_init(reco_explorer_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_EXPLORER_OPTIONS_VERSION, "reco_explorer_options");
    if (rc < 0)
        return rc;
    const reco_explorer_options d = RECO_EXPLORER_OPTIONS_INIT;
    *opts = d;
    opts->version = version;
    return RECO_OK;
}

/* Shape of a schedule, independent of the knob's range. `field` is its option path. */
static int check_schedule(const reco_explorer_schedule *s, const char *fn, const char *field)
{
    if (s->kind != RECO_SCHEDULE_CONSTANT && s->kind != RECO_SCHEDULE_LINEAR &&
        s->kind != RECO_SCHEDULE_EXPONENTIAL)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, field,
                                  "%s: kind %d is not a reco_schedule_kind", fn, (int)s->kind);
    if (!isfinite(s->start))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, field, "%s: start %g is not finite",
                                  fn, s->start);
    if (s->kind == RECO_SCHEDULE_CONSTANT)
        return RECO_OK;
    if (!isfinite(s->end))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, field, "%s: end %g is not finite", fn,
                                  s->end);
    if (s->kind == RECO_SCHEDULE_EXPONENTIAL) {
        if (!(s->rate > 0.0 && s->rate <= 1.0))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, field,
                                      "%s: exponential rate %g is not in (0, 1]", fn, s->rate);
        if (!(s->end <= s->start))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, field,
                                      "%s: exponential decay needs end (%g) <= start (%g)", fn,
                                      s->end, s->start);
    }
    return RECO_OK;
}

/* A schedule whose values must stay in [lo, hi]; `name` is "epsilon" or "tau". */
static int check_knob_schedule(const reco_explorer_schedule *s, const char *fn, const char *name,
                               double lo, double hi)
{
    char field[64];
    snprintf(field, sizeof field, "explorer.%s", name);
    int rc = check_schedule(s, fn, field);
    if (rc < 0)
        return rc;
    /* Every schedule moves monotonically from start to end, so checking both bounds it. */
    if (!(s->start >= lo && s->start <= hi)) {
        snprintf(field, sizeof field, "explorer.%s.start", name);
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, field,
                                  "%s: %s start %g is out of range [%g, %g]", fn, name, s->start,
                                  lo, hi);
    }
    if (s->kind != RECO_SCHEDULE_CONSTANT && !(s->end >= lo && s->end <= hi)) {
        snprintf(field, sizeof field, "explorer.%s.end", name);
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, field,
                                  "%s: %s end %g is out of range [%g, %g]", fn, name, s->end, lo,
                                  hi);
    }
    return RECO_OK;
}

static int is_rule(int r)
{
    return r >= RECO_EXPLORER_GREEDY && r <= RECO_EXPLORER_BOLTZMANN;
}

/* Copies the caller's options (of any accepted version) into `o` and validates them. */
static int resolve_options(reco_explorer_options *o, const reco_explorer_options *opts,
                           const char *fn)
{
    const reco_explorer_options d = RECO_EXPLORER_OPTIONS_INIT;
    *o = d;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_EXPLORER_OPTIONS_VERSION,
                                     "reco_explorer_options");
        if (rc < 0)
            return rc;
        *o = *opts; /* version 1 is the whole struct */
    }
    if (!is_rule((int)o->rule))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "explorer.rule",
                                  "%s: rule %d is not a reco_explorer_rule", fn, (int)o->rule);
    int rc = check_knob_schedule(&o->epsilon, fn, "epsilon", EPS_MIN, EPS_MAX);
    if (rc < 0)
        return rc;
    rc = check_knob_schedule(&o->tau, fn, "tau", TAU_MIN, TAU_MAX);
    if (rc < 0)
        return rc;
    if (!(o->top_k_fraction >= FRACTION_MIN && o->top_k_fraction <= FRACTION_MAX))
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "explorer.top_k_fraction",
                                  "%s: top_k_fraction %g is out of range (0, 1] (at least %g)",
                                  fn, o->top_k_fraction, FRACTION_MIN);
    if (o->top_k_count > MAX_CANDIDATES)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "explorer.top_k_count",
                                  "%s: top_k_count %u exceeds %u", fn, o->top_k_count,
                                  MAX_CANDIDATES);
    if (o->max_candidates < 1 || o->max_candidates > MAX_CANDIDATES)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "explorer.max_candidates",
                                  "%s: max_candidates %u is out of range [1, %u]", fn,
                                  o->max_candidates, MAX_CANDIDATES);
    return RECO_OK;
}

/* Offsets of the workspace arrays after the handle, each 64-byte aligned. */
typedef struct layout {
    size_t buf[3], idx, w, total;
} layout;

static size_t round64(size_t x)
{
    return (x + 63) & ~(size_t)63;
}

static void layout_of(layout *l, size_t max_c)
{
    /* max_c <= 2^24: no overflow. */
    l->buf[0] = round64(sizeof(reco_explorer));
    l->buf[1] = l->buf[0] + round64(max_c * sizeof(float));
    l->buf[2] = l->buf[1] + round64(max_c * sizeof(float));
    l->idx = l->buf[2] + round64(max_c * sizeof(float));
    l->w = l->idx + round64(max_c * sizeof(uint32_t));
    l->total = l->w + round64(max_c * sizeof(float));
}

/* The address `off` bytes into the block (offsets are 64-byte aligned). */
static void *block_at(void *block, size_t off)
{
    return (unsigned char *)block + off;
}

int reco_explorer_workspace_size(size_t *out, const reco_explorer_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_workspace_size: out is NULL");
    reco_explorer_options o;
    int rc = resolve_options(&o, opts, "reco_explorer_workspace_size");
    if (rc < 0)
        return rc;
    layout l;
    layout_of(&l, o.max_candidates);
    *out = l.total;
    return RECO_OK;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void restore_knobs(reco_explorer *e)
{
    e->rule = e->opts.rule;
    e->eps_sched = e->opts.epsilon;
    e->tau_sched = e->opts.tau;
    e->top_k_fraction = e->opts.top_k_fraction;
    e->top_k_count = e->opts.top_k_count;
    e->step = 0;
    (void)reco_rng_seed(&e->rng, e->opts.seed, e->opts.stream);
}

int reco_explorer_create(reco_explorer **out, const reco_explorer_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_create: out is NULL");
    *out = NULL;
    reco_explorer_options o;
    int rc = resolve_options(&o, opts, "reco_explorer_create");
    if (rc < 0)
        return rc;
    reco_allocator a;
    rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    layout l;
    layout_of(&l, o.max_candidates);
    reco_explorer *e = reco__alloc(&a, l.total, 64); /* the handle, then its workspace */
    if (e == NULL)
        return RECO_ENOMEM;
    memset(e, 0, sizeof *e);
    e->alloc = a;
    e->opts = o;
    e->opts.allocator = NULL;
    e->max_candidates = o.max_candidates;
    for (size_t i = 0; i < 3; ++i)
        e->buf[i] = block_at(e, l.buf[i]);
    e->idx = block_at(e, l.idx);
    e->w = block_at(e, l.w);
    restore_knobs(e);
    reco__handle_acquire();
    *out = e;
    return RECO_OK;
}

void reco_explorer_free(reco_explorer *explorer)
{
    if (explorer == NULL)
        return;
    reco_allocator a = explorer->alloc;
    reco__free(&a, explorer);
    reco__handle_release();
}

int reco_explorer_reset(reco_explorer *explorer)
{
    if (explorer == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_reset: explorer is NULL");
    restore_knobs(explorer);
    return RECO_OK;
}

/* ---- schedules and knobs ------------------------------------------------------------------ */

/* The value of a validated schedule. */
static double schedule_at(const reco_explorer_schedule *s, uint64_t t)
{
    switch (s->kind) {
    case RECO_SCHEDULE_LINEAR:
        if (s->steps == 0 || t >= s->steps)
            return s->end;
        return s->start + (s->end - s->start) * ((double)t / (double)s->steps);
    case RECO_SCHEDULE_EXPONENTIAL: {
        const double v = s->start * reco__pow(s->rate, (double)t);
        return v > s->end ? v : s->end;
    }
    case RECO_SCHEDULE_CONSTANT:
    default:
        return s->start;
    }
}

int reco_explorer_schedule_value(double *out, const reco_explorer_schedule *schedule,
                                 uint64_t step)
{
    if (out == NULL || schedule == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_schedule_value: %s is NULL",
                               out == NULL ? "out" : "schedule");
    int rc = check_schedule(schedule, "reco_explorer_schedule_value", "");
    if (rc < 0)
        return rc;
    *out = schedule_at(schedule, step);
    return RECO_OK;
}

static const struct {
    double lo, hi;
} param_bounds[] = {
    [RECO_EXPLORER_PARAM_EPSILON] = {EPS_MIN, EPS_MAX},
    [RECO_EXPLORER_PARAM_TAU] = {TAU_MIN, TAU_MAX},
    [RECO_EXPLORER_PARAM_TOP_K_FRACTION] = {FRACTION_MIN, FRACTION_MAX},
    [RECO_EXPLORER_PARAM_TOP_K_COUNT] = {0.0, (double)MAX_CANDIDATES},
    [RECO_EXPLORER_PARAM_RULE] = {(double)RECO_EXPLORER_GREEDY, (double)RECO_EXPLORER_BOLTZMANN},
};

int reco_explorer_param_bounds(double *min_out, double *max_out, reco_explorer_param param)
{
    if (min_out == NULL || max_out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_param_bounds: %s is NULL",
                               min_out == NULL ? "min_out" : "max_out");
    if ((int)param < RECO_EXPLORER_PARAM_EPSILON || (int)param > RECO_EXPLORER_PARAM_RULE)
        return reco__error_set(RECO_EINVAL, "reco_explorer_param_bounds: unknown parameter %d",
                               (int)param);
    *min_out = param_bounds[param].lo;
    *max_out = param_bounds[param].hi;
    return RECO_OK;
}

static reco_explorer_schedule constant_schedule(double v)
{
    const reco_explorer_schedule s = {RECO_SCHEDULE_CONSTANT, v, v, 0, 1.0};
    return s;
}

int reco_explorer_set_param(reco_explorer *explorer, reco_explorer_param param, double value)
{
    if (explorer == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_set_param: explorer is NULL");
    if ((int)param < RECO_EXPLORER_PARAM_EPSILON || (int)param > RECO_EXPLORER_PARAM_RULE)
        return reco__error_set(RECO_EINVAL, "reco_explorer_set_param: unknown parameter %d",
                               (int)param);
    const double lo = param_bounds[param].lo, hi = param_bounds[param].hi;
    if (!(value >= lo && value <= hi)) /* also rejects NaN */
        return reco__error_set(RECO_EINVAL,
                               "reco_explorer_set_param: value %g of parameter %d is out of "
                               "range [%g, %g]",
                               value, (int)param, lo, hi);
    if ((param == RECO_EXPLORER_PARAM_TOP_K_COUNT || param == RECO_EXPLORER_PARAM_RULE) &&
        value != floor(value))
        return reco__error_set(RECO_EINVAL,
                               "reco_explorer_set_param: parameter %d needs an integer, got %g",
                               (int)param, value);
    switch (param) {
    case RECO_EXPLORER_PARAM_EPSILON: explorer->eps_sched = constant_schedule(value); break;
    case RECO_EXPLORER_PARAM_TAU: explorer->tau_sched = constant_schedule(value); break;
    case RECO_EXPLORER_PARAM_TOP_K_FRACTION:
        explorer->top_k_fraction = value;
        explorer->top_k_count = 0;
        break;
    case RECO_EXPLORER_PARAM_TOP_K_COUNT: explorer->top_k_count = (uint32_t)value; break;
    case RECO_EXPLORER_PARAM_RULE: explorer->rule = (reco_explorer_rule)(int)value; break;
    }
    return RECO_OK;
}

int reco_explorer_get_param(double *out, const reco_explorer *explorer, reco_explorer_param param)
{
    if (out == NULL || explorer == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_get_param: %s is NULL",
                               out == NULL ? "out" : "explorer");
    switch (param) {
    case RECO_EXPLORER_PARAM_EPSILON:
        *out = schedule_at(&explorer->eps_sched, explorer->step);
        return RECO_OK;
    case RECO_EXPLORER_PARAM_TAU:
        *out = schedule_at(&explorer->tau_sched, explorer->step);
        return RECO_OK;
    case RECO_EXPLORER_PARAM_TOP_K_FRACTION: *out = explorer->top_k_fraction; return RECO_OK;
    case RECO_EXPLORER_PARAM_TOP_K_COUNT: *out = explorer->top_k_count; return RECO_OK;
    case RECO_EXPLORER_PARAM_RULE: *out = (double)explorer->rule; return RECO_OK;
    }
    return reco__error_set(RECO_EINVAL, "reco_explorer_get_param: unknown parameter %d",
                           (int)param);
}

int reco_explorer_get_step(uint64_t *out, const reco_explorer *explorer)
{
    if (out == NULL || explorer == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_get_step: %s is NULL",
                               out == NULL ? "out" : "explorer");
    *out = explorer->step;
    return RECO_OK;
}

int reco_explorer_set_step(reco_explorer *explorer, uint64_t step)
{
    if (explorer == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_set_step: explorer is NULL");
    explorer->step = step;
    return RECO_OK;
}

int reco_explorer_get_rng(reco_rng *out, const reco_explorer *explorer)
{
    if (out == NULL || explorer == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_get_rng: %s is NULL",
                               out == NULL ? "out" : "explorer");
    *out = explorer->rng;
    return RECO_OK;
}

int reco_explorer_set_rng(reco_explorer *explorer, const reco_rng *rng)
{
    if (explorer == NULL || rng == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_set_rng: %s is NULL",
                               explorer == NULL ? "explorer" : "rng");
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        return reco__error_set(RECO_EINVAL, "reco_explorer_set_rng: the state is all zero");
    explorer->rng = *rng;
    return RECO_OK;
}

/* K for n available candidates (n >= 1): in 1..n. */
static size_t top_k_of(const reco_explorer *e, size_t n)
{
    if (e->top_k_count > 0)
        return e->top_k_count < n ? e->top_k_count : n;
    const double k = ceil(e->top_k_fraction * (double)n - K_ROUND_SLACK);
    if (!(k >= 1.0))
        return 1;
    return k < (double)n ? (size_t)k : n;
}

int reco_explorer_top_k(uint32_t *out, const reco_explorer *explorer, size_t n_available)
{
    if (out == NULL || explorer == NULL)
        return reco__error_set(RECO_EINVAL, "reco_explorer_top_k: %s is NULL",
                               out == NULL ? "out" : "explorer");
    if (n_available == 0)
        return reco__error_set(RECO_EINVAL, "reco_explorer_top_k: n_available is 0");
    if (n_available > MAX_CANDIDATES)
        return reco__error_set(RECO_EINVAL, "reco_explorer_top_k: n_available %zu exceeds %u",
                               n_available, MAX_CANDIDATES);
    *out = (uint32_t)top_k_of(explorer, n_available);
    return RECO_OK;
}

/* ---- selection of the K-th largest value -------------------------------------------------- */

unsigned reco__explorer_depth_limit(size_t n)
{
    unsigned lg = 0;
    while (n > 1) {
        n >>= 1;
        ++lg;
    }
    return 2 * lg + 8;
}

static inline void swapf(float *a, float *b)
{
    const float t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(float *a, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && a[child] < a[child + 1])
            ++child;
        if (!(a[root] < a[child]))
            return;
        swapf(&a[root], &a[child]);
        root = child;
    }
}

static void heap_sort(float *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(a, i, n);
    for (size_t end = n; end-- > 1;) {
        swapf(&a[0], &a[end]);
        sift_down(a, 0, end);
    }
}

static inline float median3(float x, float y, float z)
{
    if (x < y) {
        if (y < z)
            return y;
        return x < z ? z : x;
    }
    if (x < z)
        return x;
    return y < z ? z : y;
}

/* Pivot for the k-th largest of a[0..m). On the first pass over 64 values or more: an
 * element of a sorted sample of 15, evenly spaced, at the target's quantile shifted by two
 * sample places towards the middle, so that with high probability the target falls on the
 * smaller side of the split and that side is kept (as Floyd and Rivest's SELECT does).
 * Otherwise, and on later passes (where sorting a sample costs more than it saves, measured
 * for n = 500, k = 125), the median of three. */
#define PIVOT_SAMPLE 15
static float choose_pivot(const float *a, size_t m, size_t k, int first)
{
    if (!first || m < 64)
        return median3(a[0], a[m / 2], a[m - 1]);
    float s[PIVOT_SAMPLE];
    for (size_t i = 0; i < PIVOT_SAMPLE; ++i) {
        const float x = a[i * (m - 1) / (PIVOT_SAMPLE - 1)];
        size_t j = i;
        while (j > 0 && x < s[j - 1]) {
            s[j] = s[j - 1];
            --j;
        }
        s[j] = x;
    }
    size_t pos = (m - k) * PIVOT_SAMPLE / m; /* the target's place in the sample */
    if (2 * k <= m) /* target in the upper half: pivot below it, keep the upper side */
        pos = pos >= 2 ? pos - 2 : 0;
    else
        pos = pos + 2 < PIVOT_SAMPLE ? pos + 2 : PIVOT_SAMPLE - 1;
    return s[pos];
}

float reco__explorer_kth_largest(size_t *greater_out, size_t *equal_out, float *a, float *tmp1,
                                 float *tmp2, size_t n, size_t k, unsigned depth_limit)
{
    /* Invariant: the answer is the k-th largest of a[0..m), `greater` values already
     * discarded are strictly above it, and every value equal to it is still in a[] (a pass
     * discards only values strictly below or strictly above its pivot, hence strictly on
     * one side of the answer). Each pass copies the values below the pivot p to one free
     * buffer and those above it to the other, without a branch on the data (every value is
     * written to both, and the counters decide which writes survive), then keeps one side;
     * the three buffers rotate. */
    size_t greater = 0, m = n;
    float *lo = tmp1, *hi = tmp2;
    unsigned depth = 0;
    while (m > 1) {
        if (depth++ >= depth_limit) {
            heap_sort(a, m); /* ascending */
            const float theta = a[m - k];
            size_t eq = 0;
            for (size_t i = 0; i < m; ++i) {
                greater += a[i] > theta;
                eq += a[i] == theta;
            }
            *greater_out = greater;
            *equal_out = eq;
            return theta;
        }
        const float p = choose_pivot(a, m, k, depth == 1);
        size_t nl = 0, nh = 0;
        for (size_t i = 0; i < m; ++i) {
            const float x = a[i];
            lo[nl] = x;
            hi[nh] = x;
            nl += x < p;
            nh += p < x;
        }
        const size_t eq = m - nl - nh; /* >= 1: p is one of the values */
        float *const was = a;
        if (k <= nh) {
            a = hi;
            m = nh;
            hi = was;
        } else if (k <= nh + eq) {
            *greater_out = greater + nh;
            *equal_out = eq;
            return p;
        } else {
            greater += nh + eq;
            k -= nh + eq;
            a = lo;
            m = nl;
            lo = was;
        }
    }
    *greater_out = greater;
    *equal_out = 1;
    return a[0];
}

/* ---- per-row work shared by select and probs ---------------------------------------------- */

typedef struct row_info {
    size_t n;    /* available candidates */
    size_t amax; /* rank-0 candidate: largest Q, lowest index among ties */
    float qmax;
} row_info;

#if defined(__GNUC__)
/* Four floats as one value (GCC/Clang vector extension): SSE2 on the x86-64 baseline. */
#  define EXPLORER_VEC 4
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4f_load(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* The number of available candidates, the largest value and its lowest column, eight values
 * at a time: two sets of four lanes each keep their maximum and the first column where it
 * occurs (strict comparison), so the lowest column among the lanes that hold the overall
 * maximum is the first occurrence in the row. (+0 and -0 compare equal: either may be
 * reported as the maximum, and (q - q*) is the same.) */
static inline void row_scan(row_info *ri, const float *q, size_t cols)
{
    size_t c = 0, n = 0, amax = 0;
    float best = -INFINITY;
#if defined(EXPLORER_VEC)
    if (cols >= 8) {
        const v4f ninf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        const v4i four = {4, 4, 4, 4}, eight = {8, 8, 8, 8};
        v4f m0 = ninf, m1 = ninf;
        v4i i0 = {0, 1, 2, 3}, i1 = i0 + four, c0 = i0, c1 = i1, av0 = {0}, av1 = {0};
        for (; c + 8 <= cols; c += 8) {
            const v4f x0 = v4f_load(q + c), x1 = v4f_load(q + c + 4);
            const v4i g0 = x0 > m0, g1 = x1 > m1;
            m0 = (v4f)(((v4i)x0 & g0) | ((v4i)m0 & ~g0));
            m1 = (v4f)(((v4i)x1 & g1) | ((v4i)m1 & ~g1));
            i0 = (c0 & g0) | (i0 & ~g0);
            i1 = (c1 & g1) | (i1 & ~g1);
            av0 -= x0 > ninf; /* true is -1 */
            av1 -= x1 > ninf;
            c0 += eight;
            c1 += eight;
        }
        const v4i av = av0 + av1;
        n = (size_t)(av[0] + av[1] + av[2] + av[3]);
        /* lane values are either -inf (never beaten) or a value at its recorded column */
        size_t first = SIZE_MAX;
        for (int l = 0; l < 4; ++l) {
            const float v0 = m0[l], v1 = m1[l];
            if (v0 > best || (v0 == best && (size_t)i0[l] < first)) {
                best = v0;
                first = (size_t)i0[l];
            }
            if (v1 > best || (v1 == best && (size_t)i1[l] < first)) {
                best = v1;
                first = (size_t)i1[l];
            }
        }
        amax = first;
    }
#endif
    for (; c < cols; ++c) {
        const float x = q[c];
        n += x > -INFINITY;
        if (x > best) { /* strict: an earlier equal value keeps the place */
            best = x;
            amax = c;
        }
    }
    ri->n = n;
    ri->amax = amax;
    ri->qmax = best;
}

/* e^x for x <= 0 in single precision: Cephes' expf (range reduction by ln 2 split in two
 * parts, degree-6 polynomial), relative error below 3e-7 (checked against libm in
 * tests/test_explorer.c), exactly 1 at 0, and exactly 0 below -87 (where e^x is under
 * FLT_MIN; such a weight is at most 1.7e-38 of the argmax's). No branch, so the loop over a
 * support vectorises. */
#define EXP_MIN_ARG (-87.0f)

static inline float exp_poly(float x, float *n_out)
{
    /* n = round(x / ln 2) by the 1.5 * 2^23 trick (|x / ln 2| < 2^22) */
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    *n_out = n;
    return y * (r * r) + r + 1.0f;
}

static inline float exp_neg_scalar(float x)
{
    const float xc = x < EXP_MIN_ARG ? EXP_MIN_ARG : x;
    float n;
    const float y = exp_poly(xc, &n);
    const int32_t bits = ((int32_t)n + 127) << 23; /* 2^n, n in [-126, 0] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < EXP_MIN_ARG ? 0.0f : y * scale;
}

float reco__explorer_exp_neg(float x)
{
    return exp_neg_scalar(x);
}

/* w[t] = exp_neg(x[t]) for t < m. */
static void exp_neg_all(float *w, const float *x, size_t m)
{
    size_t t = 0;
#if defined(EXPLORER_VEC)
    const v4f lo = {EXP_MIN_ARG, EXP_MIN_ARG, EXP_MIN_ARG, EXP_MIN_ARG};
    const v4i bias = {127, 127, 127, 127};
    for (; t + 4 <= m; t += 4) {
        const v4f v = v4f_load(x + t);
        const v4i under = v < lo;
        const v4f xc = (v4f)(((v4i)lo & under) | ((v4i)v & ~under));
        const v4f n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
        const v4f r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
        v4f y = r * 1.9875691500e-4f + 1.3981999507e-3f;
        y = y * r + 8.3334519073e-3f;
        y = y * r + 4.1665795894e-2f;
        y = y * r + 1.6666665459e-1f;
        y = y * r + 5.0000001201e-1f;
        y = y * (r * r) + r + 1.0f;
        const v4i bits = (__builtin_convertvector(n, v4i) + bias) << 23;
        const v4f res = y * (v4f)bits;
        const v4f out = (v4f)((v4i)res & ~under);
        memcpy(w + t, &out, sizeof out);
    }
#endif
    for (; t < m; ++t)
        w[t] = exp_neg_scalar(x[t]);
}

/* Builds the softmax support of a row — the K best-ranked available candidates, in ascending
 * column order — in e->idx with weights exp((q - q*) / tau) in e->w, and returns its size
 * (K). *sum_out receives the sum of the weights, >= 1 (the argmax's weight is exactly 1). */
static size_t build_members(reco_explorer *e, const float *q, size_t cols, const row_info *ri,
                            size_t K, double tau, double *sum_out)
{
    uint32_t *idx = e->idx;
    float *x = e->buf[0]; /* exponents, once the quickselect is done with the buffer */
    const double qmax = (double)ri->qmax, inv_tau = 1.0 / tau;
    size_t m = 0;
    if (K == 1) {
        idx[0] = (uint32_t)ri->amax;
        x[0] = 0.0f;
        m = 1;
    } else {
        float theta = -INFINITY; /* K == n: every available candidate */
        size_t ties = 0, equal = 0;
        if (K < ri->n) {
            /* theta = the K-th largest value; members: every q > theta, then the
             * lowest-index (K - #greater) of those equal to theta. */
            float *vals = e->buf[0];
            const size_t n = ri->n;
            if (n == cols) {
                memcpy(vals, q, cols * sizeof *vals);
            } else {
                size_t j = 0;
                for (size_t c = 0; c < cols; ++c) {
                    vals[j] = q[c];
                    j += q[c] > -INFINITY;
                }
            }
            size_t greater;
            theta = reco__explorer_kth_largest(&greater, &equal, vals, e->buf[1], e->buf[2], n,
                                               K, reco__explorer_depth_limit(n));
            ties = K - greater;
        }
        /* No branch on the data in these loops (Q-values come in random order): every
         * column is written at slot m and kept by advancing m. */
        if (K == ri->n) {
            for (size_t c = 0; c < cols; ++c) {
                idx[m] = (uint32_t)c;
                m += q[c] > -INFINITY;
            }
        } else if (ties == equal) {
            for (size_t c = 0; c < cols; ++c) {
                idx[m] = (uint32_t)c;
                m += q[c] >= theta;
            }
        } else {
            for (size_t c = 0; c < cols; ++c) {
                const float v = q[c];
                const size_t tie = (size_t)(v == theta) & (size_t)(ties > 0);
                idx[m] = (uint32_t)c;
                m += (size_t)(v > theta) | tie;
                ties -= tie;
            }
        }
        /* The exponents, in double: (q - q*) <= 0 cannot overflow there. (With every
         * column a member, the same arithmetic over contiguous q, which vectorises.) */
        if (m == cols) {
            for (size_t c = 0; c < cols; ++c)
                x[c] = (float)(((double)q[c] - qmax) * inv_tau);
        } else {
            for (size_t t = 0; t < m; ++t)
                x[t] = (float)(((double)q[idx[t]] - qmax) * inv_tau);
        }
    }
    exp_neg_all(e->w, x, m);
    /* four partial sums in a fixed order: deterministic, and not one long dependency chain */
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    size_t t = 0;
    for (; t + 4 <= m; t += 4)
        for (size_t j = 0; j < 4; ++j)
            s[j] += (double)e->w[t + j];
    for (; t < m; ++t)
        s[0] += (double)e->w[t];
    *sum_out = (s[0] + s[1]) + (s[2] + s[3]);
    return m;
}

/* The rule's probability of a candidate with unnormalised weight w in a support of total
 * weight `sum`, mixed with the greedy branch: eps * w / sum + (1 - eps) [argmax]. Both select
 * and probs go through here, so their numbers are identical. */
#if defined(__GNUC__)
__attribute__((noinline)) /* one copy: no call site may contract it differently (FMA) */
#endif
static float mix_prob(double eps, double w, double sum, int is_argmax)
{
    double p = eps * (w / sum);
    if (is_argmax)
        p += 1.0 - eps;
    return (float)p;
}

/* Index in 0..m-1 of the member drawn for the uniform u in [0, 1): the first member whose
 * cumulative weight exceeds u * sum. A zero-weight member is never returned: at its turn
 * the running sum has not grown, and `target < acc` already failed for that value. Should
 * round-off leave the target at or above the running total (the total was summed in another
 * order), the last member with a positive weight is taken. */
static inline size_t draw_member(const float *w, size_t m, double sum, double u)
{
    const double target = u * sum;
    double acc = 0.0;
    for (size_t t = 0; t < m; ++t) {
        acc += (double)w[t];
        if (target < acc)
            return t;
    }
    size_t t = m - 1;
    while (t > 0 && !(w[t] > 0.0f))
        --t;
    return t;
}

/* ---- argument checks ---------------------------------------------------------------------- */

static int check_args(const char *fn, const void *out, const char *out_name,
                      const reco_explorer *e, const float *q, size_t rows, size_t cols,
                      size_t row_stride)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn, out_name);
    if (e == NULL)
        return reco__error_set(RECO_EINVAL, "%s: explorer is NULL", fn);
    if (q == NULL)
        return reco__error_set(RECO_EINVAL, "%s: q is NULL", fn);
    if (rows == 0)
        return reco__error_set(RECO_EINVAL, "%s: rows is 0", fn);
    if (cols == 0)
        return reco__error_set(RECO_EINVAL, "%s: cols is 0", fn);
    if (cols > e->max_candidates)
        return reco__error_set(RECO_EINVAL, "%s: cols %zu exceeds max_candidates %zu", fn, cols,
                               e->max_candidates);
    if (row_stride < cols)
        return reco__error_set(RECO_EINVAL, "%s: row_stride %zu is less than cols %zu", fn,
                               row_stride, cols);
    if (rows - 1 > (SIZE_MAX / sizeof(float) - cols) / row_stride)
        return reco__error_set(RECO_EINVAL, "%s: %zu rows of stride %zu overflow the address "
                               "space", fn, rows, row_stride);
    /* Every entry must be a number below +infinity; -infinity masks a candidate. The fast
     * loop only detects a problem; the slow one names it. */
    for (size_t r = 0; r < rows; ++r) {
        const float *row = q + r * row_stride;
        int bad = 0;
        size_t avail = 0;
        for (size_t c = 0; c < cols; ++c) {
            const float x = row[c];
            bad |= !(x < INFINITY);
            avail += x > -INFINITY;
        }
        if (bad) {
            for (size_t c = 0; c < cols; ++c) {
                if (isnan(row[c]))
                    return reco__error_set(RECO_EINVAL, "%s: q[%zu][%zu] is NaN", fn, r, c);
                if (!(row[c] < INFINITY))
                    return reco__error_set(RECO_EINVAL, "%s: q[%zu][%zu] is +infinity", fn, r,
                                           c);
            }
        }
        if (avail == 0)
            return reco__error_set(RECO_EINVAL,
                                   "%s: row %zu has no available candidate (all %zu entries are "
                                   "-infinity)",
                                   fn, r, cols);
    }
    return RECO_OK;
}

/* ---- select and probs --------------------------------------------------------------------- */

/* Column of the j-th (0-based) available candidate of a row with n available. */
static inline size_t nth_available(const float *q, size_t cols, size_t n, size_t j)
{
    if (n == cols)
        return j;
    for (size_t c = 0; c < cols; ++c) {
        if (q[c] > -INFINITY) {
            if (j == 0)
                return c;
            --j;
        }
    }
    return cols - 1; /* unreachable for j < n */
}

int reco_explorer_select(uint32_t *index_out, float *prob_out, reco_explorer *explorer,
                         const float *q, size_t rows, size_t cols, size_t row_stride)
{
    int rc = check_args("reco_explorer_select", index_out, "index_out", explorer, q, rows, cols,
                        row_stride);
    if (rc < 0)
        return rc;
    reco_explorer *e = explorer;
    const double eps = schedule_at(&e->eps_sched, e->step);
    const double tau = schedule_at(&e->tau_sched, e->step);
    reco_rng *rng = &e->rng;
    row_info ri;
    for (size_t r = 0; r < rows; ++r) {
        const float *row = q + r * row_stride;
        row_scan(&ri, row, cols);
        size_t choice = ri.amax;
        float p = 1.0f;
        switch (e->rule) {
        case RECO_EXPLORER_GREEDY:
            break;
        case RECO_EXPLORER_EPSILON_GREEDY: {
            const double u1 = reco_rng_uniform(rng), u2 = reco_rng_uniform(rng);
            if (u1 < eps) {
                size_t j = (size_t)(u2 * (double)ri.n);
                if (j >= ri.n)
                    j = ri.n - 1;
                choice = nth_available(row, cols, ri.n, j);
            }
            p = mix_prob(eps, 1.0, (double)ri.n, choice == ri.amax);
            break;
        }
        case RECO_EXPLORER_TOP_K_SOFTMAX: {
            const double u1 = reco_rng_uniform(rng), u2 = reco_rng_uniform(rng);
            const int explore = u1 < eps;
            if (explore || (prob_out != NULL && eps > 0.0)) {
                double sum;
                const size_t m = build_members(e, row, cols, &ri, top_k_of(e, ri.n), tau, &sum);
                double w = 1.0; /* the argmax's weight */
                if (explore) {
                    const size_t t = draw_member(e->w, m, sum, u2);
                    choice = e->idx[t];
                    w = e->w[t];
                }
                p = mix_prob(eps, w, sum, choice == ri.amax);
            } else {
                /* The argmax without exploring. With eps == 0 its probability is exactly 1, as
                 * mix_prob(0, w, sum, 1) gives for any support; otherwise p is not wanted. */
                p = 1.0f;
            }
            break;
        }
        case RECO_EXPLORER_BOLTZMANN: {
            const double u = reco_rng_uniform(rng);
            double sum;
            const size_t m = build_members(e, row, cols, &ri, ri.n, tau, &sum);
            const size_t t = draw_member(e->w, m, sum, u);
            choice = e->idx[t];
            p = mix_prob(1.0, e->w[t], sum, 0);
            break;
        }
        }
        index_out[r] = (uint32_t)choice;
        if (prob_out != NULL)
            prob_out[r] = p;
    }
    if (e->step < UINT64_MAX)
        ++e->step;
    return RECO_OK;
}

int reco_explorer_probs(float *probs_out, reco_explorer *explorer, const float *q, size_t rows,
                        size_t cols, size_t row_stride)
{
    int rc = check_args("reco_explorer_probs", probs_out, "probs_out", explorer, q, rows, cols,
                        row_stride);
    if (rc < 0)
        return rc;
    reco_explorer *e = explorer;
    const double eps = schedule_at(&e->eps_sched, e->step);
    const double tau = schedule_at(&e->tau_sched, e->step);
    row_info ri;
    for (size_t r = 0; r < rows; ++r) {
        const float *row = q + r * row_stride;
        float *p = probs_out + r * cols;
        row_scan(&ri, row, cols);
        memset(p, 0, cols * sizeof *p);
        switch (e->rule) {
        case RECO_EXPLORER_GREEDY:
            p[ri.amax] = 1.0f;
            break;
        case RECO_EXPLORER_EPSILON_GREEDY:
            for (size_t c = 0; c < cols; ++c)
                if (row[c] > -INFINITY)
                    p[c] = mix_prob(eps, 1.0, (double)ri.n, c == ri.amax);
            break;
        case RECO_EXPLORER_TOP_K_SOFTMAX:
            if (eps > 0.0) {
                double sum;
                const size_t m = build_members(e, row, cols, &ri, top_k_of(e, ri.n), tau, &sum);
                for (size_t t = 0; t < m; ++t)
                    p[e->idx[t]] = mix_prob(eps, e->w[t], sum, e->idx[t] == ri.amax);
            } else {
                p[ri.amax] = mix_prob(eps, 1.0, 1.0, 1);
            }
            break;
        case RECO_EXPLORER_BOLTZMANN: {
            double sum;
            const size_t m = build_members(e, row, cols, &ri, ri.n, tau, &sum);
            for (size_t t = 0; t < m; ++t)
                p[e->idx[t]] = mix_prob(1.0, e->w[t], sum, 0);
            break;
        }
        }
    }
    return RECO_OK;
}
