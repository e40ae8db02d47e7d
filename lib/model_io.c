/* reco_model checkpoints on the lib/file.c container (magic "RECOMDL1", format version 2;
 * version 1 files, written by 0.1, still load).
 *
 * Sections:
 *   "arch"     u32[8]  n_items, dim, lookback, n_blocks, n_heads, ffn_dim, n_signals, user_dim
 *   "arch2"    u32[14] (format 2) position, elapsed, long_len, item_dense_dim, item_n_fields,
 *                      state_bias, item_field_sizes[8]; absent in format 1, whose models have
 *                      none of these inputs
 *   "seed"     u64[1]  initialisation seed
 *   "hyper"    f32[7]  init_std, lr, beta1, beta2, adam_eps, weight_decay, clip_norm
 *   "params"   f32[P]  the parameter block, in the reco__model_layout order
 *   "item_dense"  f32[N Di], "item_fields" i32[N Kc]   (format 2, when Di or Kc > 0) the item
 *                      feature values
 * and, when saved with RECO_MODEL_SAVE_OPTIMIZER:
 *   "adam_m"   f32[P], "adam_v" f32[P], "step" u64[1], "row_step" u64[N]
 *
 * Loading validates the whole file (container checksums, every section's type and count, the
 * architecture) before it changes anything, and reads into scratch memory that is copied in
 * only when every read succeeded: a failed load leaves the model as it was. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "file_private.h"
#include "model_private.h"

static const char model_magic[8] = {'R', 'E', 'C', 'O', 'M', 'D', 'L', '1'};
#define MODEL_FORMAT_VERSION 2u

enum { N_ARCH = 8, N_ARCH2 = 6 + RECO_MODEL_MAX_ITEM_FIELDS, N_HYPER = 7 };
static const char *const arch_names[N_ARCH + 6] = {
    "n_items", "dim", "lookback", "n_blocks", "n_heads", "ffn_dim", "n_signals", "user_dim",
    "position", "elapsed", "long_len", "item_dense_dim", "item_n_fields", "state_bias"};

static void arch_of(uint32_t arch[N_ARCH + N_ARCH2], const reco_model_options *o)
{
    arch[0] = o->n_items;
    arch[1] = o->dim;
    arch[2] = o->lookback;
    arch[3] = o->n_blocks;
    arch[4] = o->n_heads;
    arch[5] = o->ffn_dim;
    arch[6] = o->n_signals;
    arch[7] = o->user_dim;
    arch[8] = (uint32_t)o->position;
    arch[9] = (uint32_t)o->elapsed;
    arch[10] = o->long_len;
    arch[11] = o->item_dense_dim;
    arch[12] = o->item_n_fields;
    arch[13] = (uint32_t)o->state_bias;
    for (int k = 0; k < RECO_MODEL_MAX_ITEM_FIELDS; k++)
        arch[14 + k] = k < (int)o->item_n_fields ? o->item_field_sizes[k] : 0;
}

static void arch_to(reco_model_options *o, const uint32_t arch[N_ARCH + N_ARCH2])
{
    o->n_items = arch[0];
    o->dim = arch[1];
    o->lookback = arch[2];
    o->n_blocks = arch[3];
    o->n_heads = arch[4];
    o->ffn_dim = arch[5];
    o->n_signals = arch[6];
    o->user_dim = arch[7];
    o->position = (int)(arch[8] != 0) + (int)(arch[8] > 1); /* 2+ stays invalid */
    o->elapsed = (int)(arch[9] != 0) + (int)(arch[9] > 1);
    o->long_len = arch[10];
    o->item_dense_dim = arch[11];
    o->item_n_fields = arch[12];
    o->state_bias = (int)(arch[13] != 0) + (int)(arch[13] > 1);
    for (int k = 0; k < RECO_MODEL_MAX_ITEM_FIELDS; k++)
        o->item_field_sizes[k] = arch[14 + k];
}

int reco__model_write_arch(reco__writer *w, const reco_model_options *o)
{
    uint32_t arch[N_ARCH + N_ARCH2];
    arch_of(arch, o);
    int rc = reco__writer_section(w, "arch", RECO__FILE_U32, arch, N_ARCH);
    if (rc == RECO_OK)
        rc = reco__writer_section(w, "arch2", RECO__FILE_U32, arch + N_ARCH, N_ARCH2);
    return rc;
}

int reco__model_read_arch(reco__reader *r, const char *path, reco_model_options *o)
{
    uint32_t arch[N_ARCH + N_ARCH2];
    memset(arch, 0, sizeof arch);
    int rc = reco__reader_section(r, "arch", RECO__FILE_U32, arch, N_ARCH);
    if (rc == RECO_OK && reco__reader_has_section(r, "arch2"))
        rc = reco__reader_section(r, "arch2", RECO__FILE_U32, arch + N_ARCH, N_ARCH2);
    if (rc < 0)
        return rc;
    (void)path;
    arch_to(o, arch);
    return RECO_OK;
}

int reco__model_check_arch(const reco_model_options *file, const reco_model_options *model,
                           const char *path)
{
    uint32_t a[N_ARCH + N_ARCH2], b[N_ARCH + N_ARCH2];
    arch_of(a, file);
    arch_of(b, model);
    for (int i = 0; i < N_ARCH + N_ARCH2; i++)
        if (a[i] != b[i]) {
            if (i < N_ARCH + 6)
                return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "arch",
                                          "%s is %u in the file but %u in the model",
                                          arch_names[i], a[i], b[i]);
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "arch",
                                      "item_field_sizes[%d] is %u in the file but %u in the "
                                      "model", i - N_ARCH - 6, a[i], b[i]);
        }
    return RECO_OK;
}

int reco__model_write_items(reco__writer *w, const reco_model *m)
{
    int rc = RECO_OK;
    if (m->Di > 0)
        rc = reco__writer_section(w, "item_dense", RECO__FILE_F32, m->item_dense, m->N * m->Di);
    if (rc == RECO_OK && m->Kc > 0)
        rc = reco__writer_section(w, "item_fields", RECO__FILE_I32, m->item_fields,
                                  m->N * m->Kc);
    return rc;
}

int reco__model_read_items(reco__reader *r, const char *path, const reco_model *m, float *dense,
                           int32_t *fields)
{
    const size_t N = m->N, Di = m->Di, Kc = m->Kc;
    int rc;
    if (Di > 0 && (rc = reco__reader_section(r, "item_dense", RECO__FILE_F32, dense, N * Di)) < 0)
        return rc;
    if (Kc > 0 &&
        (rc = reco__reader_section(r, "item_fields", RECO__FILE_I32, fields, N * Kc)) < 0)
        return rc;
    for (size_t i = 0; i < N * Di; i++)
        if (!isfinite(dense[i]))
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "item_dense",
                                      "feature %zu of item %zu is not finite", i % Di, i / Di);
    for (size_t i = 0; i < N * Kc; i++) {
        const uint32_t size = m->opts.item_field_sizes[i % Kc];
        if (fields[i] < -1 || (fields[i] >= 0 && (uint32_t)fields[i] >= size))
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "item_fields",
                                      "field %zu of item %zu is %d, not in [0, %u) nor -1",
                                      i % Kc, i / Kc, fields[i], size);
    }
    return RECO_OK;
}

static void hyper_of(float hyper[N_HYPER], const reco_model_options *o)
{
    hyper[0] = o->init_std;
    hyper[1] = o->lr;
    hyper[2] = o->beta1;
    hyper[3] = o->beta2;
    hyper[4] = o->adam_eps;
    hyper[5] = o->weight_decay;
    hyper[6] = o->clip_norm;
}

int reco_model_save(const reco_model *model, const char *path, uint32_t flags)
{
    if (model == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_save: model and path must not be NULL");
    if ((flags & ~RECO_MODEL_SAVE_OPTIMIZER) != 0)
        return reco__error_set(RECO_EINVAL, "reco_model_save: unknown flags 0x%x", flags);
    float hyper[N_HYPER];
    hyper_of(hyper, &model->opts);
    const uint64_t seed = model->opts.seed, step = model->step;
    const uint64_t P = model->lay.n_params;
    reco__writer *w = NULL;
    int rc = reco__writer_open(&w, &model->alloc, path, model_magic, MODEL_FORMAT_VERSION);
    if (rc < 0)
        return rc;
    if ((rc = reco__model_write_arch(w, &model->opts)) < 0 ||
        (rc = reco__writer_section(w, "seed", RECO__FILE_U64, &seed, 1)) < 0 ||
        (rc = reco__writer_section(w, "hyper", RECO__FILE_F32, hyper, N_HYPER)) < 0 ||
        (rc = reco__writer_section(w, "params", RECO__FILE_F32, model->params, P)) < 0 ||
        (rc = reco__model_write_items(w, model)) < 0)
        goto fail;
    if (flags & RECO_MODEL_SAVE_OPTIMIZER) {
        if ((rc = reco__writer_section(w, "adam_m", RECO__FILE_F32, model->adam_m, P)) < 0 ||
            (rc = reco__writer_section(w, "adam_v", RECO__FILE_F32, model->adam_v, P)) < 0 ||
            (rc = reco__writer_section(w, "step", RECO__FILE_U64, &step, 1)) < 0 ||
            (rc = reco__writer_section(w, "row_step", RECO__FILE_U64, model->row_step,
                                       model->N)) < 0)
            goto fail;
    }
    return reco__writer_commit(w);
fail:
    reco__writer_abort(w);
    return rc;
}

/* Everything a checkpoint carries besides the architecture, read into caller-owned scratch. */
typedef struct ckpt_data {
    uint64_t seed;
    float hyper[N_HYPER];
    float *params, *adam_m, *adam_v, *item_dense;
    int32_t *item_fields;
    uint64_t step;
    uint64_t *row_step;
    int has_optimizer;
} ckpt_data;

static int read_body(reco__reader *r, const char *path, const reco_model *m, ckpt_data *c)
{
    const uint64_t P = m->lay.n_params;
    int rc;
    if ((rc = reco__reader_section(r, "seed", RECO__FILE_U64, &c->seed, 1)) < 0 ||
        (rc = reco__reader_section(r, "hyper", RECO__FILE_F32, c->hyper, N_HYPER)) < 0)
        return rc;
    /* Check every shape before reading bulk data. */
    uint32_t type;
    uint64_t count;
    if ((rc = reco__reader_section_info(r, "params", &type, &count)) < 0)
        return rc;
    if (type != RECO__FILE_F32 || count != P)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "params",
                                  "%llu %s values, but this architecture has %llu f32 "
                                  "parameters", (unsigned long long)count,
                                  reco__file_type_name(type), (unsigned long long)P);
    c->has_optimizer = reco__reader_has_section(r, "adam_m");
    if ((rc = reco__reader_section(r, "params", RECO__FILE_F32, c->params, P)) < 0 ||
        (rc = reco__model_read_items(r, path, m, c->item_dense, c->item_fields)) < 0)
        return rc;
    if (c->has_optimizer) {
        if ((rc = reco__reader_section(r, "adam_m", RECO__FILE_F32, c->adam_m, P)) < 0 ||
            (rc = reco__reader_section(r, "adam_v", RECO__FILE_F32, c->adam_v, P)) < 0 ||
            (rc = reco__reader_section(r, "step", RECO__FILE_U64, &c->step, 1)) < 0 ||
            (rc = reco__reader_section(r, "row_step", RECO__FILE_U64, c->row_step, m->N)) < 0)
            return rc;
    }
    return RECO_OK;
}

/* Loads `path` into `m`, whose architecture has been checked already (arch read), through
 * scratch memory; commits only when everything was read. */
static int load_into(reco_model *m, reco__reader *r, const char *path)
{
    const size_t P = m->lay.n_params;
    ckpt_data c;
    memset(&c, 0, sizeof c);
    /* One scratch block: params, adam_m, adam_v, item_dense (floats), row_step (u64),
     * item_fields (i32). */
    const size_t nd = m->N * m->Di, nf = m->N * m->Kc;
    size_t floats, bytes;
    if (reco__size_mul(&floats, 3 * P + nd, sizeof(float)) < 0 ||
        reco__size_add(&bytes, floats, m->N * sizeof(uint64_t) + nf * sizeof(int32_t) + 128) < 0)
        return RECO_ENOMEM;
    unsigned char *scratch = reco__alloc(&m->alloc, bytes, 64);
    if (scratch == NULL)
        return RECO_ENOMEM;
    c.params = (float *)scratch;
    c.adam_m = c.params + P;
    c.adam_v = c.adam_m + P;
    c.item_dense = c.adam_v + P;
    c.row_step = (uint64_t *)(void *)(scratch + ((floats + 63) & ~(size_t)63));
    c.item_fields = (int32_t *)(void *)(c.row_step + m->N);
    int rc = read_body(r, path, m, &c);
    if (rc == RECO_OK) {
        memcpy(m->params, c.params, P * sizeof(float));
        memcpy(m->item_dense, c.item_dense, nd * sizeof(float));
        memcpy(m->item_fields, c.item_fields, nf * sizeof(int32_t));
        if (c.has_optimizer) {
            memcpy(m->adam_m, c.adam_m, P * sizeof(float));
            memcpy(m->adam_v, c.adam_v, P * sizeof(float));
            memcpy(m->row_step, c.row_step, m->N * sizeof(uint64_t));
            m->step = c.step;
        } else {
            memset(m->adam_m, 0, P * sizeof(float));
            memset(m->adam_v, 0, P * sizeof(float));
            memset(m->row_step, 0, m->N * sizeof(uint64_t));
            m->step = 0;
        }
        /* Accumulated gradients belong to the parameters that were just replaced. */
        memset(m->grads, 0, m->lay.n_dense * sizeof(float));
        for (size_t i = 0; i < m->n_touched; i++) {
            const size_t id = (size_t)m->touched[i];
            memset(m->grads + m->lay.item_emb + id * m->d, 0, m->d * sizeof(float));
            memset(m->grads + m->lay.item_bias + id * m->H, 0, m->H * sizeof(float));
            m->row_touched[id] = 0;
        }
        m->n_touched = 0;
        m->opts.seed = c.seed;
        m->opts.init_std = c.hyper[0];
        m->opts.lr = c.hyper[1];
        m->opts.beta1 = c.hyper[2];
        m->opts.beta2 = c.hyper[3];
        m->opts.adam_eps = c.hyper[4];
        m->opts.weight_decay = c.hyper[5];
        m->opts.clip_norm = c.hyper[6];
    }
    reco__free(&m->alloc, scratch);
    return rc;
}

int reco_model_load(reco_model *model, const char *path)
{
    if (model == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_load: model and path must not be NULL");
    reco__reader *r = NULL;
    int rc = reco__reader_open(&r, &model->alloc, path, model_magic, 1, MODEL_FORMAT_VERSION,
                               NULL);
    if (rc < 0)
        return rc;
    reco_model_options file = model->opts;
    rc = reco__model_read_arch(r, path, &file);
    if (rc == RECO_OK)
        rc = reco__model_check_arch(&file, &model->opts, path);
    if (rc == RECO_OK)
        rc = load_into(model, r, path);
    reco__reader_close(r);
    return rc;
}

/* A checksummed file could still hold a stored architecture that is impossible, or that
 * does not match its own parameter section: check both before allocating anything for it (a
 * 6 KB file must not make the loader allocate gigabytes). */
static int check_stored_arch(reco__reader *r, const char *path, const reco_model_options *o)
{
    reco__model_layout lay;
    char msg[256];
    if (reco__model_layout_init(&lay, o) < 0) {
        snprintf(msg, sizeof msg, "%s", reco_error_message());
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "arch",
                                  "the stored architecture is invalid: %s", msg);
    }
    uint32_t type;
    uint64_t count;
    int rc = reco__reader_section_info(r, "params", &type, &count);
    if (rc < 0)
        return rc;
    if (type != RECO__FILE_F32 || count != lay.n_params)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "params",
                                  "%llu %s values, but the stored architecture has %llu f32 "
                                  "parameters", (unsigned long long)count,
                                  reco__file_type_name(type),
                                  (unsigned long long)lay.n_params);
    return RECO_OK;
}

int reco_model_open(reco_model **out, const char *path, const reco_model_options *runtime)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_open: out is NULL");
    *out = NULL;
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_model_open: path is NULL");
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    if (runtime != NULL) {
        int rc = reco__check_version(runtime->version, RECO_MODEL_OPTIONS_VERSION,
                                     "reco_model_options");
        if (rc < 0)
            return rc;
        o.allocator = runtime->allocator;
        o.max_batch = runtime->max_batch;
        o.max_candidates = runtime->max_candidates;
        o.threads = runtime->threads;
        if (runtime->version >= 3)
            o.deterministic = runtime->deterministic;
    }
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, o.allocator);
    if (rc < 0)
        return rc;
    reco__reader *r = NULL;
    rc = reco__reader_open(&r, &a, path, model_magic, 1, MODEL_FORMAT_VERSION, NULL);
    if (rc < 0)
        return rc;
    rc = reco__model_read_arch(r, path, &o);
    if (rc == RECO_OK)
        rc = check_stored_arch(r, path, &o);
    if (rc == RECO_OK) {
        reco_model *m = NULL;
        rc = reco_model_create(&m, &o);
        if (rc < 0) {
            /* the architecture was checked: what is left is memory */
        } else if ((rc = load_into(m, r, path)) < 0) {
            reco_model_free(m);
        } else {
            *out = m;
        }
    }
    reco__reader_close(r);
    return rc;
}
