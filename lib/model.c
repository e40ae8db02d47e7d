/* reco_model: the transformer feedback model / Q-network. Equations in docs/model.md.
 *
 * Memory: one parameter block carved by reco__model_layout, mirrored by gradients and the two
 * Adam moments; activations live in a workspace allocated once at creation. Nothing in
 * score, train or step allocates. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "alloc_private.h"
#include "detmath_private.h"
#include "error_private.h"
#include "model_private.h"
#include "vec_private.h"
#include "reco/rng.h"

#define TOPN_BLOCK 2048

/* ---- options and layout ---- */

/* Bytes of a reco_model_options of the given (valid) version. */
static size_t model_options_size(unsigned int version)
{
    return version >= 3   ? sizeof(reco_model_options)
           : version == 2 ? offsetof(reco_model_options, deterministic)
                          : offsetof(reco_model_options, position);
}

int reco_model_options_init(reco_model_options *opts, unsigned int version)
{
    if (opts == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_options_init: opts is NULL");
    int rc = reco__check_version(version, RECO_MODEL_OPTIONS_VERSION, "reco_model_options");
    if (rc < 0)
        return rc;
    const reco_model_options d = RECO_MODEL_OPTIONS_INIT;
    memcpy(opts, &d, model_options_size(version));
    opts->version = version;
    return RECO_OK;
}

#define CHECK_RANGE(field, lo, hi)                                                             \
    do {                                                                                       \
        if (!((double)(o->field) >= (lo) && (double)(o->field) <= (hi)))                       \
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "model." #field,                \
                                      "%g is out of range [%g, %g]", (double)(o->field),       \
                                      (double)(lo), (double)(hi));                             \
    } while (0)

static int validate_options(const reco_model_options *o)
{
    int rc = reco__check_version(o->version, RECO_MODEL_OPTIONS_VERSION, "reco_model_options");
    if (rc < 0)
        return rc;
    CHECK_RANGE(n_items, 1, 2147483647.0);
    CHECK_RANGE(dim, 1, 4096);
    CHECK_RANGE(lookback, 1, 512);
    CHECK_RANGE(n_blocks, 1, RECO__MODEL_MAX_BLOCKS);
    CHECK_RANGE(n_heads, 1, 64);
    CHECK_RANGE(ffn_dim, 1, 16384);
    CHECK_RANGE(n_signals, 1, 16);
    CHECK_RANGE(user_dim, 0, 65536);
    CHECK_RANGE(init_std, 1e-12, 1.0);
    CHECK_RANGE(max_batch, 1, 65536);
    CHECK_RANGE(max_candidates, 1, 1u << 20);
    CHECK_RANGE(threads, 1, 256);
    CHECK_RANGE(lr, 1e-12, 10.0);
    CHECK_RANGE(beta1, 0.0, 0.999999);
    CHECK_RANGE(beta2, 0.0, 0.999999999);
    CHECK_RANGE(adam_eps, 1e-30, 1.0);
    CHECK_RANGE(weight_decay, 0.0, 1.0);
    CHECK_RANGE(clip_norm, 0.0, 1e30);
    if (o->dim % o->n_heads != 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "model.n_heads",
                                  "dim %u is not a multiple of n_heads %u", o->dim, o->n_heads);
    CHECK_RANGE(position, 0, 1);
    CHECK_RANGE(elapsed, 0, 1);
    CHECK_RANGE(long_len, 0, 4096);
    CHECK_RANGE(item_dense_dim, 0, 1024);
    CHECK_RANGE(item_n_fields, 0, RECO_MODEL_MAX_ITEM_FIELDS);
    CHECK_RANGE(state_bias, 0, 1);
    CHECK_RANGE(deterministic, 0, 1);
    for (uint32_t k = 0; k < o->item_n_fields; k++)
        if (o->item_field_sizes[k] < 1 || o->item_field_sizes[k] > (1u << 24))
            return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "model.item_field_sizes",
                                      "field %u has size %u, not in [1, %u]", k,
                                      o->item_field_sizes[k], 1u << 24);
    return RECO_OK;
}

int reco__model_layout_init(reco__model_layout *lay, const reco_model_options *o)
{
    int rc = validate_options(o);
    if (rc < 0)
        return rc;
    const size_t d = o->dim, T = (size_t)o->lookback + 1, F = o->n_signals, U = o->user_dim;
    const size_t f = o->ffn_dim, H = F + 2;
    const size_t Di = o->item_dense_dim, Kc = o->item_n_fields;
    size_t off = 0;
    memset(lay, 0, sizeof *lay);
#define TAKE(field, count) (lay->field = off, off += (count))
    TAKE(pos_emb, T * d);
    TAKE(sig_emb, F * d);
    TAKE(user_tok, d);
    TAKE(user_proj, U * d);
    TAKE(sess_emb, o->position ? d : 0);
    TAKE(step_curve, o->position ? RECO__CURVE_KNOTS * d : 0);
    TAKE(time_curve, o->elapsed ? RECO__CURVE_KNOTS * d : 0);
    TAKE(long_proj, o->long_len > 0 ? (F + 1) * d * d : 0);
    TAKE(long_stat, o->long_len > 0 ? (F + 1) * d : 0);
    TAKE(item_dproj, Di * d);
    TAKE(item_dbias, Di * H);
    size_t rows = 0;
    for (size_t k = 0; k < Kc; k++) {
        lay->field_off[k] = rows;
        rows += o->item_field_sizes[k];
    }
    lay->n_field_rows = rows;
    TAKE(item_femb, rows * d);
    TAKE(item_fbias, rows * H);
    TAKE(state_w, o->state_bias ? d * H : 0);
    TAKE(state_b, o->state_bias ? H : 0);
    for (size_t l = 0; l < o->n_blocks; l++) {
        TAKE(blk[l].ln1_g, d);
        TAKE(blk[l].ln1_b, d);
        TAKE(blk[l].w_qkv, d * 3 * d);
        TAKE(blk[l].b_qkv, 3 * d);
        TAKE(blk[l].w_o, d * d);
        TAKE(blk[l].b_o, d);
        TAKE(blk[l].ln2_g, d);
        TAKE(blk[l].ln2_b, d);
        TAKE(blk[l].w_ff1, d * f);
        TAKE(blk[l].b_ff1, f);
        TAKE(blk[l].w_ff2, f * d);
        TAKE(blk[l].b_ff2, d);
    }
    TAKE(lnf_g, d);
    TAKE(lnf_b, d);
    TAKE(head_w, d * H * d);
    lay->n_dense = off;
    /* The item tables can be large (N up to 2^31): check the products. */
    size_t emb, bias, total;
    if (reco__size_mul(&emb, (size_t)o->n_items, d) < 0 ||
        reco__size_mul(&bias, (size_t)o->n_items, H) < 0 ||
        reco__size_add(&total, off, emb) < 0 || reco__size_add(&total, total, bias) < 0)
        return reco__error_set_at(RECO_EINVAL, NULL, 0, 0, "model.n_items",
                                  "%u items make the parameter block overflow", o->n_items);
    TAKE(item_emb, emb);
    TAKE(item_bias, bias);
#undef TAKE
    lay->n_params = off;
    return RECO_OK;
}

/* ---- workspace ---- */

/* Carves the arena (or, with base == NULL, only counts its size). Every buffer is 64-byte
 * aligned. */
typedef struct carver {
    unsigned char *base;
    size_t off;
} carver;

static void *carve(carver *c, size_t count, size_t elem)
{
    size_t off = (c->off + 63) & ~(size_t)63;
    c->off = off + count * elem;
    return c->base != NULL ? c->base + off : NULL;
}

static void layout_workspace(reco_workspace *w, carver *c)
{
    const size_t B = w->max_batch, T = w->T, d = w->d, f = w->ffn, nh = w->n_heads;
    const size_t H = w->n_total_heads, C = w->max_candidates;
    const size_t BTd = B * T * d;
    w->mask = carve(c, B * T, 1);
    w->x0 = carve(c, BTd, sizeof(float));
    for (size_t l = 0; l < w->n_blocks; l++) {
        const size_t Tq = l + 1 == w->n_blocks ? 1 : T;
        reco__block_acts *a = &w->blk[l];
        a->ln1 = carve(c, BTd, sizeof(float));
        a->ln1_mean = carve(c, B * T, sizeof(float));
        a->ln1_rstd = carve(c, B * T, sizeof(float));
        a->q = carve(c, B * Tq * d, sizeof(float));
        a->kv = Tq == 1 ? NULL : carve(c, 2 * BTd, sizeof(float));
        a->att = carve(c, B * nh * Tq * T, sizeof(float));
        a->att_out = carve(c, B * Tq * d, sizeof(float));
        a->x_mid = carve(c, B * Tq * d, sizeof(float));
        a->ln2 = carve(c, B * Tq * d, sizeof(float));
        a->ln2_mean = carve(c, B * Tq, sizeof(float));
        a->ln2_rstd = carve(c, B * Tq, sizeof(float));
        a->ff_pre = carve(c, B * Tq * f, sizeof(float));
        a->ff_act = carve(c, B * Tq * f, sizeof(float));
        a->x_out = carve(c, B * Tq * d, sizeof(float));
        a->mask = w->mask;
        if (Tq == 1) {
            a->rvec = carve(c, B * nh * d, sizeof(float));
            a->abar = carve(c, B * nh * d, sizeof(float));
        }
    }
    const size_t F1 = w->n_total_heads - 1;
    w->sbias = carve(c, B * H, sizeof(float));
    if (w->long_len > 0) {
        w->pool = carve(c, B * F1 * d, sizeof(float));
        w->pool_stat = carve(c, B * F1, sizeof(float));
        w->pool_cnt = carve(c, B * F1, sizeof(float));
    }
    w->ivec = carve(c, 2 * d, sizeof(float)); /* an item vector and its gradient */
    if (w->item_feats) {
        w->cand_bias = carve(c, C * H, sizeof(float));
        w->item_vec = carve(c, (size_t)TOPN_BLOCK * d, sizeof(float));
    }
    w->u = carve(c, B * d, sizeof(float));
    w->lnf_mean = carve(c, B, sizeof(float));
    w->lnf_rstd = carve(c, B, sizeof(float));
    w->proj = carve(c, B * H * d, sizeof(float));
    w->cand = carve(c, C * d, sizeof(float));
    w->topn_scores = carve(c, (size_t)TOPN_BLOCK * B, sizeof(float));
    w->heap_s = carve(c, B * C, sizeof(float));
    w->heap_i = carve(c, B * C, sizeof(int32_t));
    if (w->training) {
        w->dx_a = carve(c, BTd, sizeof(float));
        w->dx_b = carve(c, BTd, sizeof(float));
        w->dq = carve(c, BTd, sizeof(float));
        w->dkv = carve(c, 2 * BTd, sizeof(float));
        w->datt_out = carve(c, BTd, sizeof(float));
        w->dln = carve(c, BTd, sizeof(float));
        w->dmid = carve(c, BTd, sizeof(float));
        w->dff = carve(c, B * T * f, sizeof(float));
        w->dff2 = carve(c, B * T * f, sizeof(float));
        w->att_scratch = carve(c, B * nh * T * T, sizeof(float));
        w->drvec = carve(c, B * nh * d, sizeof(float));
        w->dabar = carve(c, B * nh * d, sizeof(float));
        w->dscore = carve(c, B * nh * T, sizeof(float));
        w->du = carve(c, B * d, sizeof(float));
        w->dproj = carve(c, B * H * d, sizeof(float));
        w->dz = carve(c, B * H, sizeof(float));
        w->zbuf = carve(c, B * H, sizeof(float));
        w->dsbias = carve(c, B * H, sizeof(float));
        if (w->long_len > 0)
            w->dpool = carve(c, B * F1 * d, sizeof(float));
    }
}

static void workspace_dims(reco_workspace *w, const reco_model_options *o, int training)
{
    memset(w, 0, sizeof *w);
    w->training = training;
    w->max_batch = o->max_batch;
    w->max_candidates = o->max_candidates;
    w->T = (size_t)o->lookback + 1;
    w->d = o->dim;
    w->n_blocks = o->n_blocks;
    w->n_heads = o->n_heads;
    w->ffn = o->ffn_dim;
    w->n_total_heads = (size_t)o->n_signals + 2;
    w->long_len = o->long_len;
    w->item_feats = o->item_dense_dim > 0 || o->item_n_fields > 0;
}

static size_t workspace_bytes(const reco_model_options *o, int training)
{
    reco_workspace w;
    workspace_dims(&w, o, training);
    carver c = {NULL, 0};
    layout_workspace(&w, &c);
    return c.off + 64;
}

int reco_model_workspace_size(size_t *out, const reco_model_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_workspace_size: out is NULL");
    reco_model_options def = RECO_MODEL_OPTIONS_INIT;
    const reco_model_options *o = opts != NULL ? opts : &def;
    reco__model_layout lay;
    int rc = reco__model_layout_init(&lay, o);
    if (rc < 0)
        return rc;
    *out = workspace_bytes(o, 1);
    return RECO_OK;
}

static int workspace_new(reco_workspace **out, const reco_allocator *a,
                         const reco_model_options *o, int training)
{
    reco_workspace *w = reco__alloc(a, sizeof *w, 0);
    if (w == NULL)
        return RECO_ENOMEM;
    workspace_dims(w, o, training);
    w->alloc = *a;
    w->bytes = workspace_bytes(o, training);
    w->arena = reco__alloc(a, w->bytes, 64);
    if (w->arena == NULL) {
        reco__free(a, w);
        return RECO_ENOMEM;
    }
    carver c = {w->arena, 0};
    layout_workspace(w, &c);
    *out = w;
    return RECO_OK;
}

static void workspace_delete(reco_workspace *w)
{
    if (w == NULL)
        return;
    reco_allocator a = w->alloc;
    reco__free(&a, w->arena);
    reco__free(&a, w);
}

int reco_workspace_create(reco_workspace **out, const reco_model *model)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_workspace_create: out is NULL");
    *out = NULL;
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "reco_workspace_create: model is NULL");
    int rc = workspace_new(out, &model->alloc, &model->opts, 0);
    if (rc == RECO_OK)
        reco__handle_acquire();
    return rc;
}

void reco_workspace_free(reco_workspace *ws)
{
    if (ws == NULL)
        return;
    workspace_delete(ws);
    reco__handle_release();
}

/* ---- create / free ---- */

static void init_params(reco_model *m)
{
    const reco__model_layout *lay = &m->lay;
    const float std = m->opts.init_std;
    reco_rng rng;
    reco_rng_seed(&rng, m->opts.seed, 0x6d6f64656cULL /* "model" */);
    for (size_t i = 0; i < lay->n_params; i++)
        m->params[i] = (float)(std * reco_rng_normal(&rng));
    /* LayerNorm: identity; biases: zero. */
    const size_t d = m->d;
    for (size_t l = 0; l < m->nb; l++) {
        for (size_t j = 0; j < d; j++) {
            m->params[lay->blk[l].ln1_g + j] = 1.0f;
            m->params[lay->blk[l].ln1_b + j] = 0.0f;
            m->params[lay->blk[l].ln2_g + j] = 1.0f;
            m->params[lay->blk[l].ln2_b + j] = 0.0f;
            m->params[lay->blk[l].b_o + j] = 0.0f;
            m->params[lay->blk[l].b_ff2 + j] = 0.0f;
        }
        memset(m->params + lay->blk[l].b_qkv, 0, 3 * d * sizeof(float));
        memset(m->params + lay->blk[l].b_ff1, 0, m->ffn * sizeof(float));
    }
    for (size_t j = 0; j < d; j++) {
        m->params[lay->lnf_g + j] = 1.0f;
        m->params[lay->lnf_b + j] = 0.0f;
    }
    memset(m->params + lay->item_bias, 0, m->N * m->H * sizeof(float));
    /* Feature biases and the state term start at zero: a fresh model scores as without them. */
    memset(m->params + lay->item_dbias, 0, m->Di * m->H * sizeof(float));
    memset(m->params + lay->item_fbias, 0, lay->n_field_rows * m->H * sizeof(float));
    if (m->opts.state_bias) {
        memset(m->params + lay->state_w, 0, m->d * m->H * sizeof(float));
        memset(m->params + lay->state_b, 0, m->H * sizeof(float));
    }
}

int reco_model_create(reco_model **out, const reco_model_options *opts)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_create: out is NULL");
    *out = NULL;
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    if (opts != NULL) {
        int rc = reco__check_version(opts->version, RECO_MODEL_OPTIONS_VERSION,
                                     "reco_model_options");
        if (rc < 0)
            return rc;
        /* a version-1 struct ends before the version-2 inputs: they keep their defaults */
        memcpy(&o, opts, model_options_size(opts->version));
        o.version = RECO_MODEL_OPTIONS_VERSION;
    }
    reco__model_layout lay;
    int rc = reco__model_layout_init(&lay, &o);
    if (rc < 0)
        return rc;
    reco_allocator a;
    rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    reco_model *m = reco__calloc(&a, 1, sizeof *m);
    if (m == NULL)
        return RECO_ENOMEM;
    m->alloc = a;
    m->opts = o;
    m->opts.allocator = NULL; /* copied into m->alloc; the caller's pointer is not kept */
    m->lay = lay;
    rc = reco__blas_init(&m->blas, (int)o.threads, o.deterministic);
    if (rc < 0) {
        reco__free(&a, m);
        return rc;
    }
    m->N = o.n_items;
    m->d = o.dim;
    m->L = o.lookback;
    m->T = (size_t)o.lookback + 1;
    m->nb = o.n_blocks;
    m->nh = o.n_heads;
    m->ffn = o.ffn_dim;
    m->F = o.n_signals;
    m->U = o.user_dim;
    m->H = (size_t)o.n_signals + 2;
    m->Hl = o.long_len;
    m->Di = o.item_dense_dim;
    m->Kc = o.item_n_fields;
    m->has_item_feats = m->Di > 0 || m->Kc > 0;
    const size_t P = lay.n_params;
    m->params = reco__alloc(&a, P * sizeof(float), 64);
    m->grads = reco__calloc(&a, P, sizeof(float));
    m->adam_m = reco__calloc(&a, P, sizeof(float));
    m->adam_v = reco__calloc(&a, P, sizeof(float));
    m->row_step = reco__calloc(&a, m->N, sizeof(uint64_t));
    m->row_touched = reco__calloc(&a, m->N, 1);
    m->touched = reco__alloc(&a, m->N * sizeof(int32_t), 0);
    m->item_dense = reco__calloc(&a, m->N * m->Di + 1, sizeof(float));
    m->item_fields = reco__alloc(&a, (m->N * m->Kc + 1) * sizeof(int32_t), 0);
    if (m->params == NULL || m->grads == NULL || m->adam_m == NULL || m->adam_v == NULL ||
        m->row_step == NULL || m->row_touched == NULL || m->touched == NULL ||
        m->item_dense == NULL || m->item_fields == NULL ||
        workspace_new(&m->ws, &a, &o, 1) < 0) {
        reco__handle_acquire();
        reco_model_free(m);
        return RECO_ENOMEM;
    }
    for (size_t i = 0; i < m->N * m->Kc; i++)
        m->item_fields[i] = -1;
    init_params(m);
    reco__handle_acquire();
    *out = m;
    return RECO_OK;
}

void reco_model_free(reco_model *model)
{
    if (model == NULL)
        return;
    reco_allocator a = model->alloc;
    workspace_delete(model->ws);
    reco__free(&a, model->params);
    reco__free(&a, model->grads);
    reco__free(&a, model->adam_m);
    reco__free(&a, model->adam_v);
    reco__free(&a, model->row_step);
    reco__free(&a, model->row_touched);
    reco__free(&a, model->touched);
    reco__free(&a, model->item_dense);
    reco__free(&a, model->item_fields);
    reco__free(&a, model);
    reco__handle_release();
}

int reco_model_get_options(reco_model_options *out, const reco_model *model)
{
    if (out == NULL || model == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_get_options: NULL argument");
    int rc = reco__check_version(out->version, RECO_MODEL_OPTIONS_VERSION, "reco_model_options");
    if (rc < 0)
        return rc;
    unsigned int v = out->version;
    memcpy(out, &model->opts, model_options_size(v));
    out->version = v;
    return RECO_OK;
}

uint32_t reco_model_n_heads(const reco_model *model)
{
    return (uint32_t)model->H;
}

size_t reco_model_n_params(const reco_model *model)
{
    return model->lay.n_params;
}

/* ---- batch validation ---- */

/* The session context of a batch; all NULL for a version-1 batch, which ends before it. */
typedef struct batch_ctx {
    const uint32_t *steps;
    const float *elapsed;
    const int32_t *long_items;
    const uint32_t *long_fb;
} batch_ctx;

static batch_ctx ctx_of(const reco_batch *b)
{
    batch_ctx c = {NULL, NULL, NULL, NULL};
    if (b->version >= 2) {
        c.steps = b->steps;
        c.elapsed = b->elapsed;
        c.long_items = b->long_items;
        c.long_fb = b->long_feedback;
    }
    return c;
}

/* The context inputs the model needs, checked like the rest of the batch. */
static int check_context(const reco_model *m, const reco_batch *b, const char *fn)
{
    const batch_ctx c = ctx_of(b);
    const size_t B = b->size;
    if (m->opts.position && c.steps == NULL)
        return reco__error_set(RECO_EINVAL, "%s: the model takes the position in the session, "
                               "but the batch has no steps (a version-2 reco_batch carries "
                               "them)", fn);
    if (m->opts.elapsed) {
        if (c.elapsed == NULL)
            return reco__error_set(RECO_EINVAL, "%s: the model takes the elapsed time, but the "
                                   "batch has no elapsed", fn);
        for (size_t r = 0; r < B; r++)
            if (!(c.elapsed[r] >= 0.0f) || !isfinite(c.elapsed[r]))
                return reco__error_set(RECO_EINVAL, "%s: elapsed[%zu] = %g is not a finite "
                                       "number of seconds >= 0", fn, r, (double)c.elapsed[r]);
    }
    if (m->Hl > 0) {
        if (c.long_items == NULL || c.long_fb == NULL)
            return reco__error_set(RECO_EINVAL, "%s: the model has a long-term history of %zu "
                                   "slots, but the batch's long_items or long_feedback is NULL",
                                   fn, m->Hl);
        const uint32_t bit_limit = m->F >= 32 ? 0xffffffffu : ((1u << m->F) - 1u);
        for (size_t i = 0; i < B * m->Hl; i++) {
            const int32_t id = c.long_items[i];
            if (id == RECO_PAD)
                continue;
            if (id < 0 || (size_t)id >= m->N)
                return reco__error_set(RECO_EINVAL, "%s: long-term item %d at row %zu, slot %zu "
                                       "is not in [0, %zu) nor RECO_PAD", fn, id, i / m->Hl,
                                       i % m->Hl, m->N);
            if ((c.long_fb[i] & ~bit_limit) != 0)
                return reco__error_set(RECO_EINVAL, "%s: long-term feedback 0x%x at row %zu, "
                                       "slot %zu sets bits beyond the %zu signals", fn,
                                       c.long_fb[i], i / m->Hl, i % m->Hl, m->F);
        }
    }
    return RECO_OK;
}

/* Checks a batch before any computation so that a bad id can never index out of bounds and
 * nothing is written on error. `need_candidates`: the call reads batch->candidates. */
static int check_batch(const reco_model *m, const reco_workspace *w, const reco_batch *b,
                       int need_candidates, const char *fn)
{
    if (b == NULL)
        return reco__error_set(RECO_EINVAL, "%s: batch is NULL", fn);
    int rc = reco__check_version(b->version, RECO_BATCH_VERSION, "reco_batch");
    if (rc < 0)
        return rc;
    if (b->size == 0 || b->size > w->max_batch)
        return reco__error_set(RECO_EINVAL, "%s: batch size %u is out of range [1, %zu]", fn,
                               b->size, w->max_batch);
    if (b->items == NULL || b->feedback == NULL)
        return reco__error_set(RECO_EINVAL, "%s: batch items or feedback is NULL", fn);
    const size_t n = (size_t)b->size * m->L;
    const uint32_t bit_limit = m->F >= 32 ? 0xffffffffu : ((1u << m->F) - 1u);
    for (size_t i = 0; i < n; i++) {
        const int32_t id = b->items[i];
        if (id == RECO_PAD)
            continue;
        if (id < 0 || (size_t)id >= m->N)
            return reco__error_set(RECO_EINVAL,
                                   "%s: history item %d at row %zu, slot %zu is not in [0, %zu)"
                                   " nor RECO_PAD", fn, id, i / m->L, i % m->L, m->N);
        if ((b->feedback[i] & ~bit_limit) != 0)
            return reco__error_set(RECO_EINVAL,
                                   "%s: feedback 0x%x at row %zu, slot %zu sets bits beyond "
                                   "the %zu signals", fn, b->feedback[i], i / m->L, i % m->L,
                                   m->F);
    }
    if (m->U > 0) {
        if (b->user_features == NULL)
            return reco__error_set(RECO_EINVAL, "%s: user_features is NULL but the model has "
                                   "user_dim %zu", fn, m->U);
        for (size_t i = 0; i < (size_t)b->size * m->U; i++)
            if (!isfinite(b->user_features[i]))
                return reco__error_set(RECO_EINVAL, "%s: user feature %zu of row %zu is not "
                                       "finite", fn, i % m->U, i / m->U);
    }
    if ((rc = check_context(m, b, fn)) < 0)
        return rc;
    if (need_candidates) {
        if (b->n_candidates == 0 || b->n_candidates > w->max_candidates)
            return reco__error_set(RECO_EINVAL, "%s: %u candidates is out of range [1, %zu]",
                                   fn, b->n_candidates, w->max_candidates);
        if (b->candidates == NULL)
            return reco__error_set(RECO_EINVAL, "%s: candidates is NULL", fn);
        const size_t nc = (size_t)b->n_candidates * (b->shared_candidates ? 1 : b->size);
        /* one branch-free (vectorised) pass, then the first bad entry only if there is one:
         * serving one state checks hundreds of candidates per call. N fits in 32 bits, and a
         * negative id converts to a value >= 2^31 > N. */
        const uint32_t n_items = (uint32_t)m->N;
        uint32_t bad = 0;
        for (size_t i = 0; i < nc; i++)
            bad |= (uint32_t)b->candidates[i] >= n_items;
        for (size_t i = 0; bad != 0 && i < nc; i++)
            if (b->candidates[i] < 0 || (size_t)b->candidates[i] >= m->N)
                return reco__error_set(RECO_EINVAL, "%s: candidate %d (entry %zu) is not in "
                                       "[0, %zu)", fn, b->candidates[i], i, m->N);
    }
    return RECO_OK;
}

static int check_items(const reco_model *m, const int32_t *items, size_t n, const char *what,
                       const char *fn)
{
    if (items == NULL)
        return reco__error_set(RECO_EINVAL, "%s: %s is NULL", fn, what);
    for (size_t i = 0; i < n; i++)
        if (items[i] < 0 || (size_t)items[i] >= m->N)
            return reco__error_set(RECO_EINVAL, "%s: %s[%zu] = %d is not in [0, %zu)", fn, what,
                                   i, items[i], m->N);
    return RECO_OK;
}

/* ---- forward ---- */

/* ---- items: the effective embedding and biases of an item with features ---- */

/* x += the feature part of item id's embedding: its fields' embeddings and the projection of
 * its dense features. */
RECO__HOT static void item_feats_add(const reco_model *m, int32_t id, float *x)
{
    const size_t d = m->d;
    const float *P = m->params;
    const int32_t *fv = m->item_fields + (size_t)id * m->Kc;
    for (size_t k = 0; k < m->Kc; k++) {
        if (fv[k] < 0)
            continue;
        const float *e = P + m->lay.item_femb + (m->lay.field_off[k] + (size_t)fv[k]) * d;
        for (size_t j = 0; j < d; j++)
            x[j] += e[j];
    }
    const float *xv = m->item_dense + (size_t)id * m->Di;
    for (size_t k = 0; k < m->Di; k++)
        if (xv[k] != 0.0f)
            vec_axpy(x, xv[k], P + m->lay.item_dproj + k * d, d);
}

/* out (d) = the effective embedding of item id. */
static void item_vec(const reco_model *m, int32_t id, float *out)
{
    memcpy(out, m->params + m->lay.item_emb + (size_t)id * m->d, m->d * sizeof(float));
    if (m->has_item_feats)
        item_feats_add(m, id, out);
}

/* The bias of item id under head h, with its features' part. */
static float item_bias_of(const reco_model *m, int32_t id, size_t h)
{
    const size_t H = m->H;
    const float *P = m->params;
    float b = P[m->lay.item_bias + (size_t)id * H + h];
    if (!m->has_item_feats)
        return b;
    const int32_t *fv = m->item_fields + (size_t)id * m->Kc;
    for (size_t k = 0; k < m->Kc; k++)
        if (fv[k] >= 0)
            b += P[m->lay.item_fbias + (m->lay.field_off[k] + (size_t)fv[k]) * H + h];
    const float *xv = m->item_dense + (size_t)id * m->Di;
    for (size_t k = 0; k < m->Di; k++)
        b += xv[k] * P[m->lay.item_dbias + k * H + h];
    return b;
}

static void touch_row(reco_model *m, int32_t id)
{
    if (!m->row_touched[id]) {
        m->row_touched[id] = 1;
        m->touched[m->n_touched++] = id;
    }
}

/* Gradient g (d) of item id's effective embedding: into its row and its features' tensors. */
RECO__HOT static void item_vec_backward(reco_model *m, int32_t id, const float *g)
{
    const size_t d = m->d;
    float *G = m->grads;
    touch_row(m, id);
    float *ge = G + m->lay.item_emb + (size_t)id * d;
    for (size_t j = 0; j < d; j++)
        ge[j] += g[j];
    if (!m->has_item_feats)
        return;
    const int32_t *fv = m->item_fields + (size_t)id * m->Kc;
    for (size_t k = 0; k < m->Kc; k++) {
        if (fv[k] < 0)
            continue;
        float *gf = G + m->lay.item_femb + (m->lay.field_off[k] + (size_t)fv[k]) * d;
        for (size_t j = 0; j < d; j++)
            gf[j] += g[j];
    }
    const float *xv = m->item_dense + (size_t)id * m->Di;
    for (size_t k = 0; k < m->Di; k++)
        if (xv[k] != 0.0f)
            vec_axpy(G + m->lay.item_dproj + k * d, xv[k], g, d);
}

/* Gradient g of item id's bias under head h. */
static void item_bias_backward(reco_model *m, int32_t id, size_t h, float g)
{
    const size_t H = m->H;
    float *G = m->grads;
    touch_row(m, id);
    G[m->lay.item_bias + (size_t)id * H + h] += g;
    if (!m->has_item_feats)
        return;
    const int32_t *fv = m->item_fields + (size_t)id * m->Kc;
    for (size_t k = 0; k < m->Kc; k++)
        if (fv[k] >= 0)
            G[m->lay.item_fbias + (m->lay.field_off[k] + (size_t)fv[k]) * H + h] += g;
    const float *xv = m->item_dense + (size_t)id * m->Di;
    for (size_t k = 0; k < m->Di; k++)
        G[m->lay.item_dbias + k * H + h] += xv[k] * g;
}

/* ---- session context ---- */

/* Where x >= 0 falls on a curve's knots: knot j and weight a of knot j + 1, for
 * RECO__CURVE_RES * log2(1 + x / scale), clipped to the last knot. */
static void curve_point(size_t *j_out, float *a_out, float x, float scale)
{
    float p = RECO__CURVE_RES * log2f(1.0f + x / scale);
    const float last = (float)(RECO__CURVE_KNOTS - 1);
    if (!(p > 0.0f))
        p = 0.0f;
    if (p >= last) {
        *j_out = RECO__CURVE_KNOTS - 2;
        *a_out = 1.0f;
        return;
    }
    const size_t j = (size_t)p;
    *j_out = j;
    *a_out = p - (float)j;
}

/* Number of the newest history slots of row r that belong to its session (all of them when
 * the model does not know the position). */
static size_t in_session(const reco_model *m, const batch_ctx *c, size_t r)
{
    if (!m->opts.position)
        return m->L;
    return c->steps[r] < m->L ? c->steps[r] : m->L;
}

/* Long-term history: per row, the mean effective embedding of all its items and of the
 * items with each signal, w->pool (B, (F + 1) d), and their counts: w->pool_stat (B, F + 1) =
 * [n / H, n_f / n for each f], w->pool_cnt the raw counts. */
RECO__HOT static void long_pool_forward(const reco_model *m, reco_workspace *w,
                                        const batch_ctx *c, size_t B)
{
    const size_t d = m->d, F = m->F, F1 = F + 1, Hl = m->Hl;
    memset(w->pool, 0, B * F1 * d * sizeof(float));
    memset(w->pool_cnt, 0, B * F1 * sizeof(float));
    for (size_t r = 0; r < B; r++) {
        float *pool = w->pool + r * F1 * d, *cnt = w->pool_cnt + r * F1;
        for (size_t j = 0; j < Hl; j++) {
            const int32_t id = c->long_items[r * Hl + j];
            if (id == RECO_PAD)
                continue;
            item_vec(m, id, w->ivec);
            vec_axpy(pool, 1.0f, w->ivec, d);
            cnt[0] += 1.0f;
            uint32_t bits = c->long_fb[r * Hl + j];
            for (size_t f = 0; bits != 0; f++, bits >>= 1)
                if (bits & 1u) {
                    vec_axpy(pool + (1 + f) * d, 1.0f, w->ivec, d);
                    cnt[1 + f] += 1.0f;
                }
        }
        float *st = w->pool_stat + r * F1;
        st[0] = cnt[0] / (float)Hl;
        for (size_t k = 0; k < F1; k++) {
            if (cnt[k] > 0.0f) {
                const float inv = 1.0f / cnt[k];
                for (size_t j = 0; j < d; j++)
                    pool[k * d + j] *= inv;
            }
            if (k > 0)
                st[k] = cnt[0] > 0.0f ? cnt[k] / cnt[0] : 0.0f;
        }
    }
}

/* x0 (B, T, d): item + signal + position embeddings (+ the earlier-session embedding); the
 * user slot (t = L) is the user token + position + user_features @ user_proj + the session
 * curves + the projected long-term history. */
RECO__HOT static void embed_forward(const reco_model *m, reco_workspace *w, const reco_batch *b)
{
    const size_t B = b->size, L = m->L, T = m->T, d = m->d;
    const float *P = m->params;
    const float *pos = P + m->lay.pos_emb, *sig = P + m->lay.sig_emb;
    const batch_ctx cx = ctx_of(b);
    for (size_t r = 0; r < B; r++) {
        const size_t first_in = L - in_session(m, &cx, r);
        for (size_t t = 0; t < L; t++) {
            float *x = w->x0 + (r * T + t) * d;
            const int32_t id = b->items[r * L + t];
            const float *p = pos + t * d;
            w->mask[r * T + t] = id != RECO_PAD;
            if (id == RECO_PAD) {
                memcpy(x, p, d * sizeof(float));
                continue;
            }
            item_vec(m, id, x);
            for (size_t j = 0; j < d; j++)
                x[j] += p[j];
            if (t < first_in) {
                const float *se = P + m->lay.sess_emb;
                for (size_t j = 0; j < d; j++)
                    x[j] += se[j];
            }
            uint32_t bits = b->feedback[r * L + t];
            for (size_t f = 0; bits != 0; f++, bits >>= 1) {
                if (bits & 1u) {
                    const float *sv = sig + f * d;
                    for (size_t j = 0; j < d; j++)
                        x[j] += sv[j];
                }
            }
        }
        float *x = w->x0 + (r * T + L) * d;
        const float *tok = P + m->lay.user_tok, *p = pos + L * d;
        w->mask[r * T + L] = 1;
        for (size_t j = 0; j < d; j++)
            x[j] = tok[j] + p[j];
        size_t kj;
        float ka;
        if (m->opts.position) {
            curve_point(&kj, &ka, (float)cx.steps[r], 1.0f);
            const float *k0 = P + m->lay.step_curve + kj * d;
            for (size_t j = 0; j < d; j++)
                x[j] += (1.0f - ka) * k0[j] + ka * k0[d + j];
        }
        if (m->opts.elapsed) {
            curve_point(&kj, &ka, cx.elapsed[r], RECO__ELAPSED_SCALE);
            const float *k0 = P + m->lay.time_curve + kj * d;
            for (size_t j = 0; j < d; j++)
                x[j] += (1.0f - ka) * k0[j] + ka * k0[d + j];
        }
    }
    if (m->U > 0) /* (B, U) @ (U, d), accumulated into the user-slot rows (row stride T d) */
        reco__gemm(&m->blas, 0, 0, B, d, m->U, 1.0f, b->user_features, m->U,
                   P + m->lay.user_proj, d, 1.0f, w->x0 + L * d, T * d);
    if (m->Hl > 0) {
        const size_t F1 = m->F + 1;
        long_pool_forward(m, w, &cx, B);
        reco__gemm(&m->blas, 0, 0, B, d, F1 * d, 1.0f, w->pool, F1 * d, P + m->lay.long_proj, d,
                   1.0f, w->x0 + L * d, T * d);
        reco__gemm(&m->blas, 0, 0, B, d, F1, 1.0f, w->pool_stat, F1, P + m->lay.long_stat, d,
                   1.0f, w->x0 + L * d, T * d);
    }
}

RECO__HOT
static void add_bias_rows(float *x, size_t stride, const float *bias, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            x[r * stride + j] += bias[j];
}

/* Rows of the last Tq positions of each sequence as one strided matrix: Tq is T (all rows,
 * contiguous) or 1 (one row per sequence, stride T * width). */
static size_t last_rows_offset(size_t T, size_t Tq, size_t width)
{
    return (T - Tq) * width;
}
static size_t last_rows_stride(size_t T, size_t Tq, size_t width)
{
    return Tq == T ? width : T * width;
}

RECO__HOT static void col_sums_add(float *dst, const float *x, size_t stride, size_t rows, size_t n)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++)
            dst[j] += x[r * stride + j];
}

/* Attention of the last block, where only the user slot queries. With one query per head,
 *   score_t = s q.(a_t W_k + b_k) = s a_t.(W_k q) + const,   out = (sum_t p_t a_t) W_v + b_v
 * (the constant q.b_k cancels in the softmax and sum_t p_t = 1), so keys and values are never
 * formed: per row and head, r = W_k^h q^h (d), scores a_t.r over the T positions, and the
 * probability-weighted mean abar of the a_t. That turns the (B T, d) x (d, 2d) key/value
 * product, most of the block's work, into O(B T d n_heads). The results equal the textbook
 * form up to float rounding; b_k receives an exactly zero gradient in either form. */
RECO__HOT static void last_attention_forward(const reco_model *m, reco__block_acts *a,
                                   const reco__block_layout *lw, size_t B)
{
    const size_t T = m->T, d = m->d, nh = m->nh, hd = d / nh;
    const float *W = m->params + lw->w_qkv;
    const float scale = 1.0f / sqrtf((float)hd);
    /* rvec (B, nh, d): row b, head h = W_k^h q_b^h, with W_k^h = W[:, d + h hd : d + (h+1) hd] */
    for (size_t h = 0; h < nh; h++)
        reco__gemm(&m->blas, 0, 1, B, d, hd, 1.0f, a->q + h * hd, d, W + d + h * hd, 3 * d, 0.0f,
                   a->rvec + h * d, nh * d);
    for (size_t b = 0; b < B; b++) {
        const float *ab = a->ln1 + b * T * d;
        const uint8_t *mk = a->mask + b * T;
        for (size_t h = 0; h < nh; h++) {
            const float *r = a->rvec + (b * nh + h) * d;
            float *p = a->att + (b * nh + h) * T;
            float mx = -INFINITY;
            for (size_t t = 0; t < T; t++) {
                if (!mk[t]) {
                    p[t] = 0.0f;
                    continue;
                }
                p[t] = vec_dot(ab + t * d, r, d) * scale;
                if (p[t] > mx)
                    mx = p[t];
            }
            float z = 0.0f;
            for (size_t t = 0; t < T; t++) {
                if (mk[t]) {
                    p[t] = reco__expf(p[t] - mx);
                    z += p[t];
                }
            }
            float *abar = a->abar + (b * nh + h) * d;
            memset(abar, 0, d * sizeof(float));
            const float inv = 1.0f / z;
            for (size_t t = 0; t < T; t++) {
                if (!mk[t])
                    continue;
                p[t] *= inv;
                vec_axpy(abar, p[t], ab + t * d, d);
            }
        }
    }
    /* att_out (B, d), head h columns = abar^h W_v^h + b_v^h */
    for (size_t h = 0; h < nh; h++)
        reco__gemm(&m->blas, 0, 0, B, hd, d, 1.0f, a->abar + h * d, nh * d, W + 2 * d + h * hd,
                   3 * d, 0.0f, a->att_out + h * hd, d);
    add_bias_rows(a->att_out, d, m->params + lw->b_qkv + 2 * d, B, d);
}

/* Backward of last_attention_forward given w->datt_out (B, d): accumulates W_k, W_v, b_v
 * gradients, writes w->dq (B, d) and w->dln (B T, d) (overwritten). */
RECO__HOT
static void last_attention_backward(reco_model *m, reco_workspace *w, const reco__block_acts *a,
                                    const reco__block_layout *lw, size_t B)
{
    const size_t T = m->T, d = m->d, nh = m->nh, hd = d / nh;
    const float *W = m->params + lw->w_qkv;
    float *GW = m->grads + lw->w_qkv;
    const float scale = 1.0f / sqrtf((float)hd);
    col_sums_add(m->grads + lw->b_qkv + 2 * d, w->datt_out, d, B, d);
    for (size_t h = 0; h < nh; h++) {
        /* dW_v^h += abar^h^T datt_out^h;  dabar^h = datt_out^h W_v^h^T */
        reco__gemm(&m->blas, 1, 0, d, hd, B, 1.0f, a->abar + h * d, nh * d, w->datt_out + h * hd,
                   d, 1.0f, GW + 2 * d + h * hd, 3 * d);
        reco__gemm(&m->blas, 0, 1, B, d, hd, 1.0f, w->datt_out + h * hd, d, W + 2 * d + h * hd,
                   3 * d, 0.0f, w->dabar + h * d, nh * d);
    }
    memset(w->dln, 0, B * T * d * sizeof(float));
    for (size_t b = 0; b < B; b++) {
        const float *ab = a->ln1 + b * T * d;
        float *dab = w->dln + b * T * d;
        const uint8_t *mk = a->mask + b * T;
        for (size_t h = 0; h < nh; h++) {
            const float *p = a->att + (b * nh + h) * T;
            const float *r = a->rvec + (b * nh + h) * d;
            const float *dbar = w->dabar + (b * nh + h) * d;
            float *dr = w->drvec + (b * nh + h) * d;
            float *ds = w->dscore + (b * nh + h) * T;
            /* abar = sum_t p_t a_t: dp_t = dbar . a_t, da_t += p_t dbar */
            float dot = 0.0f;
            for (size_t t = 0; t < T; t++) {
                ds[t] = 0.0f;
                if (!mk[t])
                    continue;
                const float dp = vec_dot(dbar, ab + t * d, d);
                vec_axpy(dab + t * d, p[t], dbar, d);
                ds[t] = dp;
                dot += p[t] * dp;
            }
            /* softmax: dscore_t = p_t (dp_t - sum p dp); score_t = s a_t . r */
            memset(dr, 0, d * sizeof(float));
            for (size_t t = 0; t < T; t++) {
                if (!mk[t])
                    continue;
                const float g = scale * p[t] * (ds[t] - dot);
                vec_axpy(dab + t * d, g, r, d);
                vec_axpy(dr, g, ab + t * d, d);
            }
        }
    }
    for (size_t h = 0; h < nh; h++) {
        /* r^h = W_k^h q^h: dq^h = dr^h W_k^h,  dW_k^h += dr^h^T q^h */
        reco__gemm(&m->blas, 0, 0, B, hd, d, 1.0f, w->drvec + h * d, nh * d, W + d + h * hd,
                   3 * d, 0.0f, w->dq + h * hd, d);
        reco__gemm(&m->blas, 1, 0, d, hd, B, 1.0f, w->drvec + h * d, nh * d, a->q + h * hd, d,
                   1.0f, GW + d + h * hd, 3 * d);
    }
}

RECO__HOT
static void block_forward(const reco_model *m, reco_workspace *w, size_t l, const float *xin,
                          size_t B)
{
    const size_t T = m->T, d = m->d, f = m->ffn, nh = m->nh;
    const size_t Tq = l + 1 == m->nb ? 1 : T;
    const float *P = m->params;
    const reco__block_layout *lw = &m->lay.blk[l];
    reco__block_acts *a = &w->blk[l];
    const size_t BT = B * T, BTq = B * Tq;

    reco__layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, xin, P + lw->ln1_g, P + lw->ln1_b,
                            BT, d);
    /* Q only for the positions whose output is needed. */
    const size_t qoff = last_rows_offset(T, Tq, d), qstride = last_rows_stride(T, Tq, d);
    reco__gemm(&m->blas, 0, 0, BTq, d, d, 1.0f, a->ln1 + qoff, qstride, P + lw->w_qkv, 3 * d,
               0.0f, a->q, d);
    add_bias_rows(a->q, d, P + lw->b_qkv, BTq, d);
    if (Tq == 1) {
        last_attention_forward(m, a, lw, B);
    } else {
        /* K and V for every position: (B T, d) @ W[:, d:3d] (row stride 3d) */
        reco__gemm(&m->blas, 0, 0, BT, 2 * d, d, 1.0f, a->ln1, d, P + lw->w_qkv + d, 3 * d,
                   0.0f, a->kv, 2 * d);
        add_bias_rows(a->kv, 2 * d, P + lw->b_qkv + d, BT, 2 * d);
        reco__attention_forward(a->att_out, a->att, a->q, d, a->kv, 2 * d, a->kv + d, 2 * d,
                                w->mask, B, Tq, T, d, nh);
    }
    /* x_mid = x[last Tq] + att_out @ W_o + b_o */
    reco__linear_forward(&m->blas, a->x_mid, d, a->att_out, d, P + lw->w_o, P + lw->b_o, BTq, d,
                         d);
    const size_t xoff = last_rows_offset(T, Tq, d), xstride = last_rows_stride(T, Tq, d);
    for (size_t r = 0; r < BTq; r++) {
        const float *xr = xin + xoff + r * xstride;
        float *y = a->x_mid + r * d;
        for (size_t j = 0; j < d; j++)
            y[j] += xr[j];
    }
    reco__layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->x_mid, P + lw->ln2_g,
                            P + lw->ln2_b, BTq, d);
    reco__linear_forward(&m->blas, a->ff_pre, f, a->ln2, d, P + lw->w_ff1, P + lw->b_ff1, BTq, d,
                         f);
    reco__gelu_forward(a->ff_act, a->ff_pre, BTq * f);
    reco__linear_forward(&m->blas, a->x_out, d, a->ff_act, f, P + lw->w_ff2, P + lw->b_ff2, BTq,
                         f, d);
    for (size_t i = 0; i < BTq * d; i++)
        a->x_out[i] += a->x_mid[i];
}

/* Full forward to the user vectors w->u (B, d) and the head projections w->proj (B, H d) of
 * the heads the caller needs: all of them (heads NULL), or the n_sel listed. */
static void model_forward(const reco_model *m, reco_workspace *w, const reco_batch *b,
                          const uint32_t *heads, size_t n_sel)
{
    const size_t B = b->size, d = m->d;
    embed_forward(m, w, b);
    const float *x = w->x0;
    for (size_t l = 0; l < m->nb; l++) {
        block_forward(m, w, l, x, B);
        x = w->blk[l].x_out;
    }
    /* x is (B, 1, d): the user slot after the last block */
    reco__layernorm_forward(w->u, w->lnf_mean, w->lnf_rstd, x, m->params + m->lay.lnf_g,
                            m->params + m->lay.lnf_b, B, d);
    const size_t Hd = m->H * d, H = m->H;
    if (m->opts.state_bias) {
        /* (B, d) @ (d, H) + c: the state term of every head */
        reco__gemm(&m->blas, 0, 0, B, H, d, 1.0f, w->u, d, m->params + m->lay.state_w, H, 0.0f,
                   w->sbias, H);
        add_bias_rows(w->sbias, H, m->params + m->lay.state_b, B, H);
    } else {
        memset(w->sbias, 0, B * H * sizeof(float));
    }
    if (heads == NULL) {
        reco__gemm(&m->blas, 0, 0, B, Hd, d, 1.0f, w->u, d, m->params + m->lay.head_w, Hd, 0.0f,
                   w->proj, Hd);
        return;
    }
    for (size_t j = 0; j < n_sel; j++)
        reco__gemm(&m->blas, 0, 0, B, d, d, 1.0f, w->u, d,
                   m->params + m->lay.head_w + (size_t)heads[j] * d, Hd, 0.0f,
                   w->proj + (size_t)heads[j] * d, Hd);
}

/* The effective embedding of item id: its table row, or (with item features) the sum built
 * in buf (d). */
static const float *item_row(const reco_model *m, int32_t id, float *buf)
{
    if (!m->has_item_feats)
        return m->params + m->lay.item_emb + (size_t)id * m->d;
    item_vec(m, id, buf);
    return buf;
}

/* ---- backward ---- */

/* dx_out (B, Tq, d) -> dxin (B, T, d), which must hold zeros or earlier contributions. */
RECO__HOT static void block_backward(reco_model *m, reco_workspace *w, size_t l, const float *xin,
                           const float *dx_out, float *dxin, size_t B)
{
    const size_t T = m->T, d = m->d, f = m->ffn, nh = m->nh;
    const size_t Tq = l + 1 == m->nb ? 1 : T;
    const size_t BT = B * T, BTq = B * Tq;
    const float *P = m->params;
    float *G = m->grads;
    const reco__block_layout *lw = &m->lay.blk[l];
    const reco__block_acts *a = &w->blk[l];

    /* FFN: x_out = x_mid + W2 gelu(W1 ln2 + b1) + b2 */
    memcpy(w->dmid, dx_out, BTq * d * sizeof(float));
    memset(w->dff, 0, BTq * f * sizeof(float));
    reco__linear_backward(&m->blas, w->dff, f, G + lw->w_ff2, G + lw->b_ff2, dx_out, d,
                          a->ff_act, f, P + lw->w_ff2, BTq, f, d);
    memset(w->dff2, 0, BTq * f * sizeof(float));
    reco__gelu_backward(w->dff2, w->dff, a->ff_pre, BTq * f);
    memset(w->dln, 0, BTq * d * sizeof(float));
    reco__linear_backward(&m->blas, w->dln, d, G + lw->w_ff1, G + lw->b_ff1, w->dff2, f, a->ln2,
                          d, P + lw->w_ff1, BTq, d, f);
    reco__layernorm_backward(w->dmid, G + lw->ln2_g, G + lw->ln2_b, w->dln, a->x_mid,
                             P + lw->ln2_g, a->ln2_mean, a->ln2_rstd, BTq, d);

    /* Residual: x_mid = x[last Tq] + attention branch. */
    const size_t off = last_rows_offset(T, Tq, d), stride = last_rows_stride(T, Tq, d);
    for (size_t r = 0; r < BTq; r++) {
        float *dx = dxin + off + r * stride;
        const float *g = w->dmid + r * d;
        for (size_t j = 0; j < d; j++)
            dx[j] += g[j];
    }

    /* Attention output projection and attention. */
    memset(w->datt_out, 0, BTq * d * sizeof(float));
    reco__linear_backward(&m->blas, w->datt_out, d, G + lw->w_o, G + lw->b_o, w->dmid, d,
                          a->att_out, d, P + lw->w_o, BTq, d, d);
    if (Tq == 1) {
        /* folded attention of the last block: writes dq and all of dln */
        last_attention_backward(m, w, a, lw, B);
    } else {
        memset(w->dq, 0, BTq * d * sizeof(float));
        memset(w->dkv, 0, BT * 2 * d * sizeof(float));
        reco__attention_backward(w->dq, d, w->dkv, 2 * d, w->dkv + d, 2 * d, w->datt_out,
                                 a->att, a->q, d, a->kv, 2 * d, a->kv + d, 2 * d, B, Tq, T, d,
                                 nh, w->att_scratch);
        /* K and V from all rows of ln1 */
        col_sums_add(G + lw->b_qkv + d, w->dkv, 2 * d, BT, 2 * d);
        reco__gemm(&m->blas, 1, 0, d, 2 * d, BT, 1.0f, a->ln1, d, w->dkv, 2 * d, 1.0f,
                   G + lw->w_qkv + d, 3 * d);
        reco__gemm(&m->blas, 0, 1, BT, d, 2 * d, 1.0f, w->dkv, 2 * d, P + lw->w_qkv + d, 3 * d,
                   0.0f, w->dln, d);
    }
    /* Q from the last Tq rows of ln1 */
    col_sums_add(G + lw->b_qkv, w->dq, d, BTq, d);
    reco__gemm(&m->blas, 1, 0, d, d, BTq, 1.0f, a->ln1 + off, stride, w->dq, d, 1.0f,
               G + lw->w_qkv, 3 * d);
    reco__gemm(&m->blas, 0, 1, BTq, d, d, 1.0f, w->dq, d, P + lw->w_qkv, 3 * d, 1.0f,
               w->dln + off, stride);
    reco__layernorm_backward(dxin, G + lw->ln1_g, G + lw->ln1_b, w->dln, xin, P + lw->ln1_g,
                             a->ln1_mean, a->ln1_rstd, BT, d);
}

/* Backward of long_pool_forward given the gradient of the pooled vectors w->dpool. */
RECO__HOT static void long_pool_backward(reco_model *m, reco_workspace *w, const batch_ctx *c,
                                         size_t B)
{
    const size_t d = m->d, F1 = m->F + 1, Hl = m->Hl;
    float *g = w->ivec + d;
    for (size_t r = 0; r < B; r++) {
        const float *dp = w->dpool + r * F1 * d, *cnt = w->pool_cnt + r * F1;
        for (size_t j = 0; j < Hl; j++) {
            const int32_t id = c->long_items[r * Hl + j];
            if (id == RECO_PAD)
                continue;
            /* the item is in the pool of all items and in the pool of each of its signals */
            for (size_t q = 0; q < d; q++)
                g[q] = dp[q] / cnt[0];
            uint32_t bits = c->long_fb[r * Hl + j];
            for (size_t f = 0; bits != 0; f++, bits >>= 1)
                if (bits & 1u)
                    vec_axpy(g, 1.0f / cnt[1 + f], dp + (1 + f) * d, d);
            item_vec_backward(m, id, g);
        }
    }
}

RECO__HOT static void embed_backward(reco_model *m, reco_workspace *w, const reco_batch *b,
                                     const float *dx0)
{
    const size_t B = b->size, L = m->L, T = m->T, d = m->d;
    float *G = m->grads;
    const float *P = m->params;
    float *gpos = G + m->lay.pos_emb, *gsig = G + m->lay.sig_emb;
    const batch_ctx cx = ctx_of(b);
    for (size_t r = 0; r < B; r++) {
        const size_t first_in = L - in_session(m, &cx, r);
        for (size_t t = 0; t < T; t++) {
            const float *g = dx0 + (r * T + t) * d;
            float *gp = gpos + t * d;
            for (size_t j = 0; j < d; j++)
                gp[j] += g[j];
            if (t == L) {
                float *gt = G + m->lay.user_tok;
                for (size_t j = 0; j < d; j++)
                    gt[j] += g[j];
                size_t kj;
                float ka;
                if (m->opts.position) {
                    curve_point(&kj, &ka, (float)cx.steps[r], 1.0f);
                    float *k0 = G + m->lay.step_curve + kj * d;
                    vec_axpy(k0, 1.0f - ka, g, d);
                    vec_axpy(k0 + d, ka, g, d);
                }
                if (m->opts.elapsed) {
                    curve_point(&kj, &ka, cx.elapsed[r], RECO__ELAPSED_SCALE);
                    float *k0 = G + m->lay.time_curve + kj * d;
                    vec_axpy(k0, 1.0f - ka, g, d);
                    vec_axpy(k0 + d, ka, g, d);
                }
                continue;
            }
            const int32_t id = b->items[r * L + t];
            if (id == RECO_PAD)
                continue;
            item_vec_backward(m, id, g);
            if (t < first_in) {
                float *gs = G + m->lay.sess_emb;
                for (size_t j = 0; j < d; j++)
                    gs[j] += g[j];
            }
            uint32_t bits = b->feedback[r * L + t];
            for (size_t f = 0; bits != 0; f++, bits >>= 1) {
                if (bits & 1u) {
                    float *gs = gsig + f * d;
                    for (size_t j = 0; j < d; j++)
                        gs[j] += g[j];
                }
            }
        }
    }
    if (m->U > 0)
        reco__gemm(&m->blas, 1, 0, m->U, d, B, 1.0f, b->user_features, m->U, dx0 + L * d, T * d,
                   1.0f, G + m->lay.user_proj, d);
    if (m->Hl > 0) {
        const size_t F1 = m->F + 1;
        /* user slot = ... + pool @ long_proj + stat @ long_stat */
        reco__gemm(&m->blas, 1, 0, F1 * d, d, B, 1.0f, w->pool, F1 * d, dx0 + L * d, T * d, 1.0f,
                   G + m->lay.long_proj, d);
        reco__gemm(&m->blas, 1, 0, F1, d, B, 1.0f, w->pool_stat, F1, dx0 + L * d, T * d, 1.0f,
                   G + m->lay.long_stat, d);
        reco__gemm(&m->blas, 0, 1, B, F1 * d, d, 1.0f, dx0 + L * d, T * d, P + m->lay.long_proj, d,
                   0.0f, w->dpool, F1 * d);
        long_pool_backward(m, w, &cx, B);
    }
}

/* Backpropagates w->dproj (B, H d) and w->dsbias (B, H) through the heads' projection and
 * state term, the final LayerNorm, the blocks and the embeddings, accumulating into
 * m->grads. */
static void model_backward(reco_model *m, const reco_batch *b)
{
    reco_workspace *w = m->ws;
    const size_t B = b->size, d = m->d, T = m->T, H = m->H, Hd = H * d;
    float *G = m->grads;
    reco__gemm(&m->blas, 1, 0, d, Hd, B, 1.0f, w->u, d, w->dproj, Hd, 1.0f, G + m->lay.head_w,
               Hd);
    reco__gemm(&m->blas, 0, 1, B, d, Hd, 1.0f, w->dproj, Hd, m->params + m->lay.head_w, Hd, 0.0f,
               w->du, d);
    if (m->opts.state_bias) {
        reco__gemm(&m->blas, 1, 0, d, H, B, 1.0f, w->u, d, w->dsbias, H, 1.0f,
                   G + m->lay.state_w, H);
        col_sums_add(G + m->lay.state_b, w->dsbias, H, B, H);
        reco__gemm(&m->blas, 0, 1, B, d, H, 1.0f, w->dsbias, H, m->params + m->lay.state_w, H,
                   1.0f, w->du, d);
    }
    const float *x_last = w->blk[m->nb - 1].x_out;
    float *dx = w->dx_a, *dx_other = w->dx_b;
    memset(dx, 0, B * d * sizeof(float));
    reco__layernorm_backward(dx, G + m->lay.lnf_g, G + m->lay.lnf_b, w->du, x_last,
                             m->params + m->lay.lnf_g, w->lnf_mean, w->lnf_rstd, B, d);
    for (size_t l = m->nb; l-- > 0;) {
        const float *xin = l == 0 ? w->x0 : w->blk[l - 1].x_out;
        memset(dx_other, 0, B * T * d * sizeof(float));
        block_backward(m, w, l, xin, dx, dx_other, B);
        float *tmp = dx;
        dx = dx_other;
        dx_other = tmp;
    }
    embed_backward(m, w, b, dx);
}

/* Scores z[j] (n_sel) of item id under heads[j] for row r, from the projections and the
 * state term; e_out gets the item's effective embedding (d) for the backward. */
static void item_scores(float *z, const reco_model *m, reco_workspace *w, size_t r, int32_t id,
                        const uint32_t *heads, size_t n_sel, const float **e_out)
{
    const size_t d = m->d, H = m->H;
    const float *e = item_row(m, id, w->ivec);
    for (size_t j = 0; j < n_sel; j++) {
        const size_t h = heads != NULL ? heads[j] : j;
        z[j] = vec_dot(w->proj + r * H * d + h * d, e, d) + item_bias_of(m, id, h) +
               w->sbias[r * H + h];
    }
    *e_out = e;
}

/* Backward of item_scores given dz (n_sel): into dproj, dsbias, and the item's embedding and
 * biases (their features included). */
static void item_scores_backward(reco_model *m, size_t r, int32_t id, const float *e,
                                 const uint32_t *heads, size_t n_sel, const float *dz)
{
    reco_workspace *w = m->ws;
    const size_t d = m->d, H = m->H;
    float *g = w->ivec + d;
    memset(g, 0, d * sizeof(float));
    for (size_t j = 0; j < n_sel; j++) {
        const size_t h = heads != NULL ? heads[j] : j;
        vec_axpy(w->dproj + r * H * d + h * d, dz[j], e, d);
        vec_axpy(g, dz[j], w->proj + r * H * d + h * d, d);
        w->dsbias[r * H + h] += dz[j];
        item_bias_backward(m, id, h, dz[j]);
    }
    item_vec_backward(m, id, g);
}

static int check_weights(const float *wts, size_t n, const char *what, const char *fn)
{
    for (size_t i = 0; wts != NULL && i < n; i++)
        if (!(wts[i] >= 0.0f) || !isfinite(wts[i]))
            return reco__error_set(RECO_EINVAL, "%s: %s[%zu] = %g must be finite and >= 0", fn,
                                   what, i, (double)wts[i]);
    return RECO_OK;
}

int reco_model_train_bce(double *loss_out, reco_model *model, const reco_batch *batch,
                         const int32_t *shown, const float *labels, const float *row_weights)
{
    static const char fn[] = "reco_model_train_bce";
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "%s: model is NULL", fn);
    int rc = check_batch(model, model->ws, batch, 0, fn);
    if (rc < 0)
        return rc;
    const size_t B = batch->size, F1 = model->F + 1;
    if ((rc = check_items(model, shown, B, "shown", fn)) < 0)
        return rc;
    if (labels == NULL)
        return reco__error_set(RECO_EINVAL, "%s: labels is NULL", fn);
    for (size_t i = 0; i < B * F1; i++)
        if (!(labels[i] >= 0.0f && labels[i] <= 1.0f))
            return reco__error_set(RECO_EINVAL, "%s: label %zu of row %zu is %g, not in [0, 1]",
                                   fn, i % F1, i / F1, (double)labels[i]);
    if ((rc = check_weights(row_weights, B, "row_weights", fn)) < 0)
        return rc;

    reco_workspace *w = model->ws;
    model_forward(model, w, batch, NULL, 0);
    memset(w->dproj, 0, B * model->H * model->d * sizeof(float));
    memset(w->dsbias, 0, B * model->H * sizeof(float));
    double loss = 0.0;
    for (size_t r = 0; r < B; r++) {
        float *z = w->zbuf + r * F1, *dz = w->dz + r * F1;
        const float *e;
        item_scores(z, model, w, r, shown[r], NULL, F1, &e);
        for (size_t h = 0; h < F1; h++)
            dz[h] = 0.0f;
        const float wr = row_weights != NULL ? row_weights[r] : 1.0f;
        loss += (double)wr * reco__bce_logits(dz, z, labels + r * F1, NULL, F1, wr / (float)B);
        item_scores_backward(model, r, shown[r], e, NULL, F1, dz);
    }
    model_backward(model, batch);
    if (loss_out != NULL)
        *loss_out = loss / (double)B;
    return RECO_OK;
}

int reco_model_train_scalar(double *loss_out, float *pred_out, reco_model *model,
                            const reco_batch *batch, const int32_t *items, uint32_t head,
                            const float *targets, const float *weights, float huber_delta)
{
    static const char fn[] = "reco_model_train_scalar";
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "%s: model is NULL", fn);
    int rc = check_batch(model, model->ws, batch, 0, fn);
    if (rc < 0)
        return rc;
    const size_t B = batch->size;
    if ((rc = check_items(model, items, B, "items", fn)) < 0)
        return rc;
    if (head >= model->H)
        return reco__error_set(RECO_EINVAL, "%s: head %u is not in [0, %zu)", fn, head, model->H);
    if (targets == NULL)
        return reco__error_set(RECO_EINVAL, "%s: targets is NULL", fn);
    for (size_t i = 0; i < B; i++)
        if (!isfinite(targets[i]))
            return reco__error_set(RECO_EINVAL, "%s: targets[%zu] is not finite", fn, i);
    if ((rc = check_weights(weights, B, "weights", fn)) < 0)
        return rc;
    if (!(huber_delta > 0.0f))
        return reco__error_set(RECO_EINVAL, "%s: huber_delta %g must be positive", fn,
                               (double)huber_delta);

    reco_workspace *w = model->ws;
    model_forward(model, w, batch, &head, 1);
    memset(w->dproj, 0, B * model->H * model->d * sizeof(float));
    memset(w->dsbias, 0, B * model->H * sizeof(float));
    float *pred = w->zbuf, *dpred = w->dz;
    for (size_t r = 0; r < B; r++) {
        const float *e;
        item_scores(pred + r, model, w, r, items[r], &head, 1, &e);
        dpred[r] = 0.0f;
    }
    const double loss = reco__huber(dpred, pred, targets, weights, B, huber_delta,
                                    1.0f / (float)B);
    for (size_t r = 0; r < B; r++) {
        /* the item's embedding again: ivec is reused row by row */
        const float *e = item_row(model, items[r], w->ivec);
        item_scores_backward(model, r, items[r], e, &head, 1, dpred + r);
    }
    model_backward(model, batch);
    if (pred_out != NULL)
        memcpy(pred_out, pred, B * sizeof(float));
    if (loss_out != NULL)
        *loss_out = loss / (double)B;
    return RECO_OK;
}

/* train_scalar plus the conservative penalty of reco_qnet_options version 2 (CQL, Kumar et
 * al. 2020): row b's data item a_b and its C candidates (row b's, or one shared list) give
 *   pen_b = log(exp Q(s_b, a_b) + sum_c exp Q(s_b, c)) - Q(s_b, a_b) >= 0
 * and the loss gains alpha * sum_b w_b pen_b / B; its gradient in Q(s_b, x) is alpha w_b / B
 * times (softmax weight of x - [x = a_b]). penalty_out gets sum_b w_b pen_b / B. The (B, C)
 * candidate scores live in the workspace's heap_s, unused while training. */
int reco__model_train_scalar_cql(double *loss_out, double *penalty_out, float *pred_out,
                                 reco_model *model, const reco_batch *batch,
                                 const int32_t *items, uint32_t head, const float *targets,
                                 const float *weights, float huber_delta, float alpha,
                                 const int32_t *cand, uint32_t n_cand, int shared)
{
    static const char fn[] = "reco_qnet_update (conservative)";
    int rc = check_batch(model, model->ws, batch, 0, fn);
    if (rc < 0)
        return rc;
    const size_t B = batch->size, C = n_cand;
    if ((rc = check_items(model, items, B, "items", fn)) < 0 ||
        (rc = check_weights(weights, B, "weights", fn)) < 0)
        return rc;
    if (C == 0 || C > model->ws->max_candidates || cand == NULL)
        return reco__error_set(RECO_EINVAL, "%s: %u candidates (at most %zu)", fn, n_cand,
                               model->ws->max_candidates);
    if ((rc = check_items(model, cand, shared ? C : B * C, "candidates", fn)) < 0)
        return rc;
    if (head >= model->H || targets == NULL || !(huber_delta > 0.0f) || !(alpha >= 0.0f))
        return reco__error_set(RECO_EINVAL, "%s: bad head, targets, delta or alpha", fn);
    for (size_t i = 0; i < B; i++)
        if (!isfinite(targets[i]))
            return reco__error_set(RECO_EINVAL, "%s: targets[%zu] is not finite", fn, i);

    reco_workspace *w = model->ws;
    model_forward(model, w, batch, &head, 1);
    memset(w->dproj, 0, B * model->H * model->d * sizeof(float));
    memset(w->dsbias, 0, B * model->H * sizeof(float));
    float *pred = w->zbuf, *dpred = w->dz, *qc = w->heap_s;
    for (size_t r = 0; r < B; r++) {
        const float *e;
        item_scores(pred + r, model, w, r, items[r], &head, 1, &e);
        dpred[r] = 0.0f;
        const int32_t *cr = cand + (shared ? 0 : r * C);
        for (size_t c = 0; c < C; c++)
            item_scores(qc + r * C + c, model, w, r, cr[c], &head, 1, &e);
    }
    const double loss = reco__huber(dpred, pred, targets, weights, B, huber_delta,
                                    1.0f / (float)B);
    double pen = 0.0;
    for (size_t r = 0; r < B; r++) {
        const float *qr = qc + r * C;
        double mx = pred[r];
        for (size_t c = 0; c < C; c++)
            mx = qr[c] > mx ? qr[c] : mx;
        double z = reco__exp((double)pred[r] - mx);
        for (size_t c = 0; c < C; c++)
            z += reco__exp((double)qr[c] - mx);
        const double wr = weights != NULL ? weights[r] : 1.0;
        pen += wr * (mx + reco__log(z) - (double)pred[r]);
        /* d pen_b / d Q(x) = softmax(x) - [x = a_b]; the candidates' gradients replace
         * their scores in qc */
        const double g = (double)alpha * wr / (double)B;
        dpred[r] += (float)(g * (reco__exp((double)pred[r] - mx) / z - 1.0));
        for (size_t c = 0; c < C; c++)
            qc[r * C + c] = (float)(g * reco__exp((double)qr[c] - mx) / z);
    }
    for (size_t r = 0; r < B; r++) {
        const float *e = item_row(model, items[r], w->ivec);
        item_scores_backward(model, r, items[r], e, &head, 1, dpred + r);
        const int32_t *cr = cand + (shared ? 0 : r * C);
        for (size_t c = 0; c < C; c++) {
            e = item_row(model, cr[c], w->ivec);
            item_scores_backward(model, r, cr[c], e, &head, 1, qc + r * C + c);
        }
    }
    model_backward(model, batch);
    if (pred_out != NULL)
        memcpy(pred_out, pred, B * sizeof(float));
    if (penalty_out != NULL)
        *penalty_out = pen / (double)B;
    if (loss_out != NULL)
        *loss_out = (loss + (double)alpha * pen) / (double)B;
    return RECO_OK;
}

/* ---- optimiser ---- */

static void clear_grads(reco_model *m)
{
    memset(m->grads, 0, m->lay.n_dense * sizeof(float));
    const size_t d = m->d, H = m->H;
    for (size_t i = 0; i < m->n_touched; i++) {
        const size_t id = (size_t)m->touched[i];
        memset(m->grads + m->lay.item_emb + id * d, 0, d * sizeof(float));
        memset(m->grads + m->lay.item_bias + id * H, 0, H * sizeof(float));
        m->row_touched[id] = 0;
    }
    m->n_touched = 0;
}

int reco_model_zero_grad(reco_model *model)
{
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_zero_grad: model is NULL");
    clear_grads(model);
    return RECO_OK;
}

static double sum_squares(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * (double)x[i];
    return s;
}

typedef struct adam_coef {
    float lr, b1, b2, eps, wd, scale, bc1, bc2;
} adam_coef;

RECO__HOT static void adam_update(float *restrict p, const float *restrict g, float *restrict mo,
                        float *restrict ve, size_t n, const adam_coef *c)
{
    /* Coefficients in locals: read through `c` they could alias the arrays, which keeps the
     * loop scalar. */
    const float lr = c->lr, b1 = c->b1, b2 = c->b2, eps = c->eps, wd = c->wd;
    const float scale = c->scale, inv_bc1 = 1.0f / c->bc1, inv_bc2 = 1.0f / c->bc2;
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i] * scale;
        const float mi = b1 * mo[i] + (1.0f - b1) * gi;
        const float vi = b2 * ve[i] + (1.0f - b2) * gi * gi;
        mo[i] = mi;
        ve[i] = vi;
        p[i] -= lr * ((mi * inv_bc1) / (sqrtf(vi * inv_bc2) + eps) + wd * p[i]);
    }
}

int reco_model_step(double *grad_norm_out, reco_model *model)
{
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_step: model is NULL");
    reco_model *m = model;
    const size_t d = m->d, H = m->H;
    double sq = sum_squares(m->grads, m->lay.n_dense);
    for (size_t i = 0; i < m->n_touched; i++) {
        const size_t id = (size_t)m->touched[i];
        sq += sum_squares(m->grads + m->lay.item_emb + id * d, d);
        sq += sum_squares(m->grads + m->lay.item_bias + id * H, H);
    }
    const double norm = sqrt(sq);
    if (!isfinite(norm))
        return reco__error_set(RECO_EINVAL, "reco_model_step: the gradient is not finite "
                               "(NaN or overflow); nothing was updated");
    adam_coef c;
    c.lr = m->opts.lr;
    c.b1 = m->opts.beta1;
    c.b2 = m->opts.beta2;
    c.eps = m->opts.adam_eps;
    c.wd = m->opts.weight_decay;
    c.scale = (m->opts.clip_norm > 0.0f && norm > m->opts.clip_norm)
                  ? (float)(m->opts.clip_norm / norm) : 1.0f;
    const uint64_t t = ++m->step;
    c.bc1 = (float)(1.0 - reco__pow(c.b1, (double)t));
    c.bc2 = (float)(1.0 - reco__pow(c.b2, (double)t));
    adam_update(m->params, m->grads, m->adam_m, m->adam_v, m->lay.n_dense, &c);
    /* Sparse rows: catch up the moments' decay for the steps the row missed (exactly what
     * dense Adam would have done to them with zero gradients), then a normal Adam update. */
    for (size_t i = 0; i < m->n_touched; i++) {
        const size_t id = (size_t)m->touched[i];
        const uint64_t gap = t - m->row_step[id] - 1;
        const size_t oe = m->lay.item_emb + id * d, ob = m->lay.item_bias + id * H;
        if (gap > 0) {
            const float d1 = (float)reco__pow(c.b1, (double)gap), d2 = (float)reco__pow(c.b2, (double)gap);
            for (size_t j = 0; j < d; j++) {
                m->adam_m[oe + j] *= d1;
                m->adam_v[oe + j] *= d2;
            }
            for (size_t j = 0; j < H; j++) {
                m->adam_m[ob + j] *= d1;
                m->adam_v[ob + j] *= d2;
            }
        }
        adam_update(m->params + oe, m->grads + oe, m->adam_m + oe, m->adam_v + oe, d, &c);
        adam_update(m->params + ob, m->grads + ob, m->adam_m + ob, m->adam_v + ob, H, &c);
        m->row_step[id] = t;
    }
    clear_grads(m);
    if (grad_norm_out != NULL)
        *grad_norm_out = norm;
    return RECO_OK;
}

static const struct {
    double lo, hi;
} param_bounds[] = {
    [RECO_MODEL_PARAM_LR] = {1e-12, 10.0},
    [RECO_MODEL_PARAM_WEIGHT_DECAY] = {0.0, 1.0},
    [RECO_MODEL_PARAM_CLIP_NORM] = {0.0, 1e30},
    [RECO_MODEL_PARAM_THREADS] = {1.0, 256.0},
};

int reco_model_param_bounds(double *min_out, double *max_out, reco_model_param param)
{
    if (min_out == NULL || max_out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_param_bounds: NULL output");
    if ((int)param < RECO_MODEL_PARAM_LR || (int)param > RECO_MODEL_PARAM_THREADS)
        return reco__error_set(RECO_EINVAL, "reco_model_param_bounds: unknown parameter %d",
                               (int)param);
    *min_out = param_bounds[param].lo;
    *max_out = param_bounds[param].hi;
    return RECO_OK;
}

int reco_model_set_param(reco_model *model, reco_model_param param, double value)
{
    double lo = 0.0, hi = 0.0;
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_set_param: model is NULL");
    int rc = reco_model_param_bounds(&lo, &hi, param);
    if (rc < 0)
        return rc;
    if (!(value >= lo && value <= hi))
        return reco__error_set(RECO_EINVAL, "reco_model_set_param: %g is out of range [%g, %g]",
                               value, lo, hi);
    switch (param) {
    case RECO_MODEL_PARAM_LR: model->opts.lr = (float)value; break;
    case RECO_MODEL_PARAM_WEIGHT_DECAY: model->opts.weight_decay = (float)value; break;
    case RECO_MODEL_PARAM_CLIP_NORM: model->opts.clip_norm = (float)value; break;
    case RECO_MODEL_PARAM_THREADS:
        if (value != floor(value))
            return reco__error_set(RECO_EINVAL, "reco_model_set_param: threads must be an "
                                   "integer, got %g", value);
        model->opts.threads = (uint32_t)value;
        model->blas.threads = (int)value;
        break;
    }
    return RECO_OK;
}

int reco_model_get_param(double *out, const reco_model *model, reco_model_param param)
{
    if (out == NULL || model == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_get_param: NULL argument");
    switch (param) {
    case RECO_MODEL_PARAM_LR: *out = model->opts.lr; return RECO_OK;
    case RECO_MODEL_PARAM_WEIGHT_DECAY: *out = model->opts.weight_decay; return RECO_OK;
    case RECO_MODEL_PARAM_CLIP_NORM: *out = model->opts.clip_norm; return RECO_OK;
    case RECO_MODEL_PARAM_THREADS: *out = model->opts.threads; return RECO_OK;
    }
    return reco__error_set(RECO_EINVAL, "reco_model_get_param: unknown parameter %d", (int)param);
}

/* ---- scoring and retrieval ---- */

static int resolve_ws(reco_workspace **w_out, const reco_model *m, reco_workspace *ws,
                      const char *fn)
{
    /* The model's own workspace is mutable scratch even behind a const model: calls that use
     * it are documented as not thread-safe. */
    reco_workspace *w = ws != NULL ? ws : m->ws;
    if (w->d != m->d || w->T != m->T || w->n_blocks != m->nb || w->n_heads != m->nh ||
        w->ffn != m->ffn || w->n_total_heads != m->H || w->long_len != m->Hl ||
        w->item_feats != m->has_item_feats)
        return reco__error_set(RECO_EINVAL, "%s: the workspace was made for a model of another "
                               "architecture", fn);
    *w_out = w;
    return RECO_OK;
}

/* Scores of one candidate list against one row's head projections pr (H, d), reading the
 * embedding rows in place: out[j * C + c] for the n_sel heads. Eight candidates at a time
 * (vec_dot8_ptrs: the bits of vec_dot, one transposed reduction for the eight), their rows and
 * bias entries prefetched two groups ahead, since they lie scattered over the tables; the last
 * C % 8 are left to the caller. Inlined with a constant d where it is a common width. */
static inline VEC_INLINE void score_list(float *out, const float *emb, const float *bias,
                                         size_t H, const int32_t *cand, size_t C,
                                         const float *pr, const uint32_t *heads, uint32_t n_sel,
                                         size_t d)
{
    enum { AHEAD = 2 * VEC_LANES };
    size_t c = 0;
    for (; c + VEC_LANES <= C; c += VEC_LANES) {
        const int32_t *id = cand + c;
        const float *e[VEC_LANES];
        for (size_t q = 0; q < VEC_LANES; q++)
            e[q] = emb + (size_t)id[q] * d;
        if (c + AHEAD + VEC_LANES <= C) {
            for (size_t q = 0; q < VEC_LANES; q++) {
                const float *pe = emb + (size_t)id[AHEAD + q] * d;
                for (size_t o = 0; o < d; o += 16)
                    __builtin_prefetch(pe + o);
                __builtin_prefetch(pe + d - 1);
                __builtin_prefetch(bias + (size_t)id[AHEAD + q] * H);
            }
        }
        for (uint32_t j = 0; j < n_sel; j++) {
            const float *b = bias + heads[j];
            const vec8f v = vec_dot8_ptrs(pr + (size_t)heads[j] * d, e, d) +
                            (vec8f){b[(size_t)id[0] * H], b[(size_t)id[1] * H],
                                    b[(size_t)id[2] * H], b[(size_t)id[3] * H],
                                    b[(size_t)id[4] * H], b[(size_t)id[5] * H],
                                    b[(size_t)id[6] * H], b[(size_t)id[7] * H]};
            vec8_store(out + (size_t)j * C + c, v);
        }
    }
}

/* Scores of each row's candidates from the head projections, reading the embedding rows in
 * place: (B, n_sel, C). */
RECO__HOT static void score_direct(float *out, const reco_model *m, const reco_workspace *w,
                                   const reco_batch *batch, const uint32_t *heads, uint32_t n_sel)
{
    const size_t B = batch->size, C = batch->n_candidates, d = m->d, H = m->H;
    const float *emb = m->params + m->lay.item_emb;
    const float *bias = m->params + m->lay.item_bias;
    for (size_t g = 0; g < B; g++) {
        const int32_t *cand = batch->candidates + (batch->shared_candidates ? 0 : g * C);
        const float *pr = w->proj + g * H * d;
        float *o = out + g * n_sel * C;
        if (d == 64)
            score_list(o, emb, bias, H, cand, C, pr, heads, n_sel, 64);
        else if (d == 32)
            score_list(o, emb, bias, H, cand, C, pr, heads, n_sel, 32);
        else
            score_list(o, emb, bias, H, cand, C, pr, heads, n_sel, d);
        for (size_t c = C - C % VEC_LANES; c < C; c++) {
            const float *e = emb + (size_t)cand[c] * d;
            for (uint32_t j = 0; j < n_sel; j++)
                o[(size_t)j * C + c] = vec_dot(pr + (size_t)heads[j] * d, e, d) +
                                       bias[(size_t)cand[c] * H + heads[j]];
        }
    }
}

int reco_model_score(float *out, const reco_model *model, reco_workspace *ws,
                     const reco_batch *batch, const uint32_t *heads, uint32_t n_sel)
{
    static const char fn[] = "reco_model_score";
    if (out == NULL || model == NULL || heads == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, model and heads must not be NULL", fn);
    reco_workspace *w;
    int rc = resolve_ws(&w, model, ws, fn);
    if (rc < 0 || (rc = check_batch(model, w, batch, 1, fn)) < 0)
        return rc;
    if (n_sel == 0 || n_sel > model->H)
        return reco__error_set(RECO_EINVAL, "%s: n_sel %u is not in [1, %zu]", fn, n_sel,
                               model->H);
    for (uint32_t j = 0; j < n_sel; j++)
        if (heads[j] >= model->H)
            return reco__error_set(RECO_EINVAL, "%s: head %u is not in [0, %zu)", fn, heads[j],
                                   model->H);
    model_forward(model, w, batch, heads, n_sel);
    const size_t B = batch->size, C = batch->n_candidates, d = model->d, H = model->H;
    const float *emb = model->params + model->lay.item_emb;
    const float *bias = model->params + model->lay.item_bias;
    const size_t rows = batch->shared_candidates ? 1 : B;
    const size_t m_rows = batch->shared_candidates ? B : 1;
    const int feats = model->has_item_feats;
    if (m_rows <= 4 && !feats) {
        /* Few states per candidate list: dot products straight from the embedding table cost
         * less than gathering the candidates' rows first (serving one state). */
        score_direct(out, model, w, batch, heads, n_sel);
    } else {
        for (size_t g = 0; g < rows; g++) {
            const int32_t *cand = batch->candidates + g * C;
            if (feats) {
                /* effective embeddings and biases of the candidates */
                for (size_t c = 0; c < C; c++) {
                    item_vec(model, cand[c], w->cand + c * d);
                    for (uint32_t j = 0; j < n_sel; j++)
                        w->cand_bias[c * H + heads[j]] = item_bias_of(model, cand[c], heads[j]);
                }
            } else {
                reco__embedding_gather(w->cand, emb, cand, C, d);
            }
            /* shared: all B rows against the C candidates in one product per head */
            for (uint32_t j = 0; j < n_sel; j++) {
                const size_t h = heads[j];
                float *o = out + (g * n_sel + j) * C;
                reco__gemm(&model->blas, 0, 1, m_rows, C, d, 1.0f, w->proj + g * H * d + h * d,
                           H * d, w->cand, d, 0.0f, o, (size_t)n_sel * C);
                for (size_t r = 0; r < m_rows; r++)
                    for (size_t c = 0; c < C; c++)
                        o[r * n_sel * C + c] += feats ? w->cand_bias[c * H + h]
                                                      : bias[(size_t)cand[c] * H + h];
            }
        }
    }
    if (model->opts.state_bias) {
        for (size_t r = 0; r < B; r++)
            for (uint32_t j = 0; j < n_sel; j++) {
                const float sb = w->sbias[r * H + heads[j]];
                float *o = out + (r * n_sel + j) * C;
                for (size_t c = 0; c < C; c++)
                    o[c] += sb;
            }
    }
    return RECO_OK;
}

int reco_model_user_vectors(float *out, const reco_model *model, reco_workspace *ws,
                            const reco_batch *batch)
{
    static const char fn[] = "reco_model_user_vectors";
    if (out == NULL || model == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out and model must not be NULL", fn);
    reco_workspace *w;
    int rc = resolve_ws(&w, model, ws, fn);
    if (rc < 0 || (rc = check_batch(model, w, batch, 0, fn)) < 0)
        return rc;
    static const uint32_t no_heads[1] = {0};
    model_forward(model, w, batch, no_heads, 0);
    memcpy(out, w->u, (size_t)batch->size * model->d * sizeof(float));
    return RECO_OK;
}

/* Bounded selection: heap of the n best (score, id) pairs, the worst at the root.
 * "Better" is a higher score, then a lower id, so ties resolve as a stable full sort would. */
static int better(float sa, int32_t ia, float sb, int32_t ib)
{
    return sa > sb || (sa == sb && ia < ib);
}

static void heap_sift_down(float *s, int32_t *id, size_t n, size_t i)
{
    for (;;) {
        size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && better(s[worst], id[worst], s[l], id[l]))
            worst = l;
        if (r < n && better(s[worst], id[worst], s[r], id[r]))
            worst = r;
        if (worst == i)
            return;
        float ts = s[i];
        int32_t ti = id[i];
        s[i] = s[worst];
        id[i] = id[worst];
        s[worst] = ts;
        id[worst] = ti;
        i = worst;
    }
}

static void heap_sift_up(float *s, int32_t *id, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(s[p], id[p], s[i], id[i]))
            return;
        float ts = s[i];
        int32_t ti = id[i];
        s[i] = s[p];
        id[i] = id[p];
        s[p] = ts;
        id[p] = ti;
        i = p;
    }
}

/* Inserts (sc, item) into the heap (s, id) of k entries and capacity n; returns the new k. */
static size_t heap_offer(float *s, int32_t *id, size_t k, size_t n, float sc, int32_t item)
{
    if (k < n) {
        s[k] = sc;
        id[k] = item;
        heap_sift_up(s, id, k);
        return k + 1;
    }
    if (better(sc, item, s[0], id[0])) {
        s[0] = sc;
        id[0] = item;
        heap_sift_down(s, id, n, 0);
    }
    return k;
}

/* heap_offer for `count` consecutive items from `first`. Out of line: the catalog scan, which
 * seldom gets here once the heap is full, keeps its registers. */
__attribute__((noinline)) static size_t heap_offer_run(float *s, int32_t *id, size_t k, size_t n,
                                                       const float *sc, size_t count,
                                                       int32_t first)
{
    for (size_t q = 0; q < count; q++)
        k = heap_offer(s, id, k, n, sc[q], first + (int32_t)q);
    return k;
}

/* The bounded selection of reco_model_topn for a single state: heap (s, id) of capacity n
 * over all N items, scoring eight rows at a time as they stream past. Items come in increasing
 * id order, so once the heap is full a newcomer beats the root only with a strictly higher
 * score: one vector compare against the root rejects most groups of eight. Inlined with a
 * constant d where it is a common width (see vec_dot8_rows). */
static inline VEC_INLINE size_t topn_scan(float *s, int32_t *id, size_t n, const float *emb,
                                          const float *bias, size_t H, size_t head,
                                          const float *p, size_t N, size_t d)
{
    size_t k = 0;
    for (size_t i = 0; i + VEC_LANES <= N; i += VEC_LANES) {
        const float *b = bias + i * H + head;
        const vec8f v = vec_dot8_rows(p, emb + i * d, d, d) +
                        (vec8f){b[0], b[H], b[2 * H], b[3 * H], b[4 * H], b[5 * H], b[6 * H],
                                b[7 * H]};
        if (k == n) {
            const vec8i above = v > ((vec8f){0} + s[0]);
            int any = 0;
            for (size_t q = 0; q < VEC_LANES; q++)
                any |= above[q];
            if (!any)
                continue;
        }
        float sc[VEC_LANES];
        vec8_store(sc, v);
        k = heap_offer_run(s, id, k, n, sc, VEC_LANES, (int32_t)i);
    }
    return k;
}

RECO__HOT
static void topn_scan_one(float *s, int32_t *id, size_t n, const float *emb, const float *bias,
                          size_t H, size_t head, const float *p, size_t N, size_t d)
{
    size_t k;
    if (d == 64)
        k = topn_scan(s, id, n, emb, bias, H, head, p, N, 64);
    else if (d == 32)
        k = topn_scan(s, id, n, emb, bias, H, head, p, N, 32);
    else
        k = topn_scan(s, id, n, emb, bias, H, head, p, N, d);
    /* the last N % 8 items, one at a time: vec_dot has the bits of vec_dot8_rows */
    float sc[VEC_LANES];
    const size_t i0 = N - N % VEC_LANES;
    for (size_t i = i0; i < N; i++)
        sc[i - i0] = vec_dot(p, emb + i * d, d) + bias[i * H + head];
    heap_offer_run(s, id, k, n, sc, N - i0, (int32_t)i0);
}

int reco_model_topn(int32_t *ids_out, float *scores_out, const reco_model *model,
                    reco_workspace *ws, const reco_batch *batch, uint32_t head, uint32_t n)
{
    static const char fn[] = "reco_model_topn";
    if (ids_out == NULL || model == NULL)
        return reco__error_set(RECO_EINVAL, "%s: ids_out and model must not be NULL", fn);
    reco_workspace *w;
    int rc = resolve_ws(&w, model, ws, fn);
    if (rc < 0 || (rc = check_batch(model, w, batch, 0, fn)) < 0)
        return rc;
    if (head >= model->H)
        return reco__error_set(RECO_EINVAL, "%s: head %u is not in [0, %zu)", fn, head, model->H);
    const size_t limit = model->N < w->max_candidates ? model->N : w->max_candidates;
    if (n == 0 || n > limit)
        return reco__error_set(RECO_EINVAL, "%s: n = %u is not in [1, %zu]", fn, n, limit);
    model_forward(model, w, batch, &head, 1);
    const size_t B = batch->size, d = model->d, H = model->H, N = model->N;
    const float *emb = model->params + model->lay.item_emb;
    const float *bias = model->params + model->lay.item_bias;
    /* Heaps live in heap_s / heap_i rows of stride max_candidates. */
    const size_t hs = w->max_candidates;
    size_t count = 0; /* items seen so far; every heap has min(count, n) entries */
    const int feats = model->has_item_feats;
    if (B == 1 && !feats) {
        /* Serving one state: one pass over the catalog, scores consumed as they are made,
         * so the stream of embedding rows never waits for a separate selection phase. */
        topn_scan_one(w->heap_s, w->heap_i, n, emb, bias, H, head, w->proj + head * d, N, d);
        count = N;
    }
    for (size_t i0 = 0; (B > 1 || feats) && i0 < N; i0 += TOPN_BLOCK) {
        const size_t nb = N - i0 < TOPN_BLOCK ? N - i0 : TOPN_BLOCK;
        const float *blk = emb + i0 * d;
        if (feats) {
            /* the block's effective embeddings (its biases are taken one by one below) */
            for (size_t i = 0; i < nb; i++)
                item_vec(model, (int32_t)(i0 + i), w->item_vec + i * d);
            blk = w->item_vec;
        }
        /* (nb, d) @ proj_h^T (d, B) -> (nb, B): the catalog block is read once for all rows */
        reco__gemm(&model->blas, 0, 1, nb, B, d, 1.0f, blk, d, w->proj + head * d, H * d, 0.0f,
                   w->topn_scores, B);
        for (size_t r = 0; r < B; r++) {
            float *s = w->heap_s + r * hs;
            int32_t *id = w->heap_i + r * hs;
            size_t k = count < n ? count : n;
            for (size_t i = 0; i < nb; i++) {
                const float bi = feats ? item_bias_of(model, (int32_t)(i0 + i), head)
                                       : bias[(i0 + i) * H + head];
                const float sc = w->topn_scores[i * B + r] + bi;
                const int32_t item = (int32_t)(i0 + i);
                if (k < n) {
                    s[k] = sc;
                    id[k] = item;
                    heap_sift_up(s, id, k);
                    k++;
                } else if (better(sc, item, s[0], id[0])) {
                    s[0] = sc;
                    id[0] = item;
                    heap_sift_down(s, id, n, 0);
                }
            }
        }
        count += nb;
    }
    /* Heap-sort each row: repeatedly move the worst to the end -> best first. */
    for (size_t r = 0; r < B; r++) {
        float *s = w->heap_s + r * hs;
        int32_t *id = w->heap_i + r * hs;
        for (size_t k = n; k > 1; k--) {
            float ts = s[0];
            int32_t ti = id[0];
            s[0] = s[k - 1];
            id[0] = id[k - 1];
            s[k - 1] = ts;
            id[k - 1] = ti;
            heap_sift_down(s, id, k - 1, 0);
        }
        memcpy(ids_out + r * n, id, n * sizeof(int32_t));
        if (scores_out != NULL) {
            /* the state term is the same for every item of the row: it shifts the scores and
             * leaves the ranking */
            const float sb = w->sbias[r * H + head];
            for (size_t k = 0; k < n; k++)
                scores_out[r * n + k] = s[k] + sb;
        }
    }
    return RECO_OK;
}

/* ---- parameter copies ---- */

static int same_architecture(const reco_model *a, const reco_model *b, const char *fn)
{
    const reco_model_options *x = &a->opts, *y = &b->opts;
    int same = a->lay.n_params == b->lay.n_params && a->d == b->d && a->N == b->N &&
               a->L == b->L && a->nb == b->nb && a->nh == b->nh && a->ffn == b->ffn &&
               a->F == b->F && a->U == b->U && x->position == y->position &&
               x->elapsed == y->elapsed && x->long_len == y->long_len &&
               x->item_dense_dim == y->item_dense_dim && x->item_n_fields == y->item_n_fields &&
               x->state_bias == y->state_bias;
    for (uint32_t k = 0; same && k < x->item_n_fields; k++)
        same = x->item_field_sizes[k] == y->item_field_sizes[k];
    if (!same)
        return reco__error_set(RECO_EINVAL, "%s: the models have different architectures", fn);
    return RECO_OK;
}

/* The item feature values go with the parameters (they are the same catalog's). */
static void copy_item_features(reco_model *dst, const reco_model *src)
{
    if (dst == src)
        return;
    memcpy(dst->item_dense, src->item_dense, src->N * src->Di * sizeof(float));
    memcpy(dst->item_fields, src->item_fields, src->N * src->Kc * sizeof(int32_t));
}

int reco_model_copy_params(reco_model *dst, const reco_model *src)
{
    if (dst == NULL || src == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_copy_params: NULL model");
    int rc = same_architecture(dst, src, "reco_model_copy_params");
    if (rc < 0)
        return rc;
    if (dst != src)
        memcpy(dst->params, src->params, src->lay.n_params * sizeof(float));
    copy_item_features(dst, src);
    return RECO_OK;
}

int reco_model_set_item_features(reco_model *model, const float *dense, const int32_t *fields,
                                 uint32_t n_items)
{
    static const char fn[] = "reco_model_set_item_features";
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "%s: model is NULL", fn);
    if (!model->has_item_feats)
        return reco__error_set(RECO_EINVAL, "%s: the model has no item features "
                               "(item_dense_dim and item_n_fields are 0)", fn);
    if ((size_t)n_items != model->N)
        return reco__error_set(RECO_EINVAL, "%s: %u items given, the model has %zu", fn,
                               n_items, model->N);
    const size_t N = model->N, Di = model->Di, Kc = model->Kc;
    if (dense != NULL)
        for (size_t i = 0; i < N * Di; i++)
            if (!isfinite(dense[i]))
                return reco__error_set(RECO_EINVAL, "%s: dense feature %zu of item %zu is not "
                                       "finite", fn, i % Di, i / Di);
    if (fields != NULL)
        for (size_t i = 0; i < N * Kc; i++) {
            const uint32_t size = model->opts.item_field_sizes[i % Kc];
            if (fields[i] < -1 || (fields[i] >= 0 && (uint32_t)fields[i] >= size))
                return reco__error_set(RECO_EINVAL, "%s: field %zu of item %zu is %d, not in "
                                       "[0, %u) nor -1 (unknown)", fn, i % Kc, i / Kc,
                                       fields[i], size);
        }
    if (dense != NULL)
        memcpy(model->item_dense, dense, N * Di * sizeof(float));
    if (fields != NULL)
        memcpy(model->item_fields, fields, N * Kc * sizeof(int32_t));
    return RECO_OK;
}

void reco__model_combine_heads(reco_model *m, size_t dst, const float *wts, size_t n_heads)
{
    const size_t d = m->d, H = m->H;
    float *p = m->params;
    /* head_w (d, H d): column block dst of every row */
    for (size_t j = 0; j < d; j++) {
        float *row = p + m->lay.head_w + j * H * d;
        for (size_t k = 0; k < d; k++) {
            double acc = 0.0;
            for (size_t f = 0; f < n_heads; f++)
                acc += (double)wts[f] * (double)row[f * d + k];
            row[dst * d + k] = (float)acc;
        }
    }
    /* every (rows, H) tensor: item biases, feature biases, the state term */
    struct {
        size_t off, rows;
    } t[4] = {{m->lay.item_bias, m->N},
              {m->lay.item_dbias, m->Di},
              {m->lay.item_fbias, m->lay.n_field_rows},
              {m->lay.state_w, m->opts.state_bias ? d + 1 : 0}}; /* state_w then state_b */
    for (size_t q = 0; q < 4; q++)
        for (size_t i = 0; i < t[q].rows; i++) {
            float *b = p + t[q].off + i * H;
            double acc = 0.0;
            for (size_t f = 0; f < n_heads; f++)
                acc += (double)wts[f] * (double)b[f];
            b[dst] = (float)acc;
        }
}

int reco_model_blend_params(reco_model *dst, const reco_model *src, float tau)
{
    if (dst == NULL || src == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_blend_params: NULL model");
    if (!(tau >= 0.0f && tau <= 1.0f))
        return reco__error_set(RECO_EINVAL, "reco_model_blend_params: tau %g is not in [0, 1]",
                               (double)tau);
    int rc = same_architecture(dst, src, "reco_model_blend_params");
    if (rc < 0)
        return rc;
    copy_item_features(dst, src);
    const float keep = 1.0f - tau;
    for (size_t i = 0; i < src->lay.n_params; i++)
        dst->params[i] = keep * dst->params[i] + tau * src->params[i];
    return RECO_OK;
}
