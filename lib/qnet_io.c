/* reco_qnet checkpoints on the lib/file.c container (magic "RECOQNT1", format version 2;
 * version 1 files, written by 0.1, still load).
 *
 * Sections (P = parameters of one network, N = n_items):
 *   "arch"       u32[8]  n_items, dim, lookback, n_blocks, n_heads, ffn_dim, n_signals, user_dim
 *   "arch2"      u32[14] (format 2) the version-2 inputs, as in model checkpoints
 *                        (lib/model_io.c)
 *   "item_dense", "item_fields"  (format 2, with item features) their values, as in model
 *                        checkpoints
 *   "capacity"   u32[3]  max_batch, max_candidates, threads (defaults for reco_qnet_open)
 *   "seed"       u64[1]  initialisation seed of the models
 *   "hyper"      f32[7]  online optimiser: init_std, lr, beta1, beta2, adam_eps, weight_decay,
 *                        clip_norm
 *   "qopts"      f32[6]  gamma, huber_delta, tau, priority_eps, max_abs_q, max_loss
 *   "qperiod"    u32[2]  target_period, keep_last_good
 *   "n_updates"  u64[1]  updates applied
 *   "online"     f32[P]  online parameters (reco__model_layout order)
 *   "target"     f32[P]  target parameters
 *   "adam_m"     f32[P], "adam_v" f32[P]  online Adam moments
 *   "step"       u64[1]  online Adam step
 *   "row_step"   u64[N]  last step of each item row (lazy sparse Adam)
 *   "qcons"      f32[1]  (optional, written when it is not 0) conservative_alpha
 * The last-good copy (reco_qnet_restore_last_good) is not saved: after a load there is none
 * until the next update.
 *
 * Loading validates the whole file first (container checksums, every section's type and count,
 * the architecture, the options and optimiser settings) and reads the bulk data into scratch
 * memory that is copied into the handle only when every read succeeded: a failed load leaves
 * the handle exactly as it was. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alloc_private.h"
#include "error_private.h"
#include "file_private.h"
#include "model_private.h"
#include "qnet_private.h"
#include "reco/qnet.h"

static const char qnet_magic[8] = {'R', 'E', 'C', 'O', 'Q', 'N', 'T', '1'};
#define QNET_FORMAT_VERSION 2u

enum { N_CAP = 3, N_HYPER = 7, N_QOPTS = 6, N_QPERIOD = 2 };

static void hyper_of(float h[N_HYPER], const reco_model_options *o)
{
    h[0] = o->init_std;
    h[1] = o->lr;
    h[2] = o->beta1;
    h[3] = o->beta2;
    h[4] = o->adam_eps;
    h[5] = o->weight_decay;
    h[6] = o->clip_norm;
}

static void hyper_to(reco_model_options *o, const float h[N_HYPER])
{
    o->init_std = h[0];
    o->lr = h[1];
    o->beta1 = h[2];
    o->beta2 = h[3];
    o->adam_eps = h[4];
    o->weight_decay = h[5];
    o->clip_norm = h[6];
}

int reco_qnet_save(const reco_qnet *q, const char *path)
{
    if (q == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_save: q and path must not be NULL");
    const reco_model *on = q->online, *tg = q->target;
    uint32_t cap[N_CAP], qperiod[N_QPERIOD];
    float hyper[N_HYPER], qopts[N_QOPTS];
    hyper_of(hyper, &on->opts);
    cap[0] = on->opts.max_batch;
    cap[1] = on->opts.max_candidates;
    cap[2] = on->opts.threads;
    qopts[0] = q->opts.gamma;
    qopts[1] = q->opts.huber_delta;
    qopts[2] = q->opts.tau;
    qopts[3] = q->opts.priority_eps;
    qopts[4] = q->opts.max_abs_q;
    qopts[5] = q->opts.max_loss;
    qperiod[0] = q->opts.target_period;
    qperiod[1] = q->opts.keep_last_good ? 1u : 0u;
    const uint64_t seed = on->opts.seed, step = on->step, n_updates = q->n_updates;
    const uint64_t P = on->lay.n_params;
    reco__writer *w = NULL;
    int rc = reco__writer_open(&w, &q->alloc, path, qnet_magic, QNET_FORMAT_VERSION);
    if (rc < 0)
        return rc;
    if ((rc = reco__model_write_arch(w, &on->opts)) < 0 ||
        (rc = reco__writer_section(w, "capacity", RECO__FILE_U32, cap, N_CAP)) < 0 ||
        (rc = reco__writer_section(w, "seed", RECO__FILE_U64, &seed, 1)) < 0 ||
        (rc = reco__writer_section(w, "hyper", RECO__FILE_F32, hyper, N_HYPER)) < 0 ||
        (rc = reco__writer_section(w, "qopts", RECO__FILE_F32, qopts, N_QOPTS)) < 0 ||
        (rc = reco__writer_section(w, "qperiod", RECO__FILE_U32, qperiod, N_QPERIOD)) < 0 ||
        (rc = reco__writer_section(w, "n_updates", RECO__FILE_U64, &n_updates, 1)) < 0 ||
        (rc = reco__writer_section(w, "online", RECO__FILE_F32, on->params, P)) < 0 ||
        (rc = reco__writer_section(w, "target", RECO__FILE_F32, tg->params, P)) < 0 ||
        (rc = reco__writer_section(w, "adam_m", RECO__FILE_F32, on->adam_m, P)) < 0 ||
        (rc = reco__writer_section(w, "adam_v", RECO__FILE_F32, on->adam_v, P)) < 0 ||
        (rc = reco__writer_section(w, "step", RECO__FILE_U64, &step, 1)) < 0 ||
        (rc = reco__writer_section(w, "row_step", RECO__FILE_U64, on->row_step, on->N)) < 0 ||
        (rc = reco__model_write_items(w, on)) < 0 ||
        (q->opts.conservative_alpha > 0.0f &&
         (rc = reco__writer_section(w, "qcons", RECO__FILE_F32, &q->opts.conservative_alpha,
                                    1)) < 0)) {
        reco__writer_abort(w);
        return rc;
    }
    return reco__writer_commit(w);
}

/* The small sections of a checkpoint, read and validated. */
typedef struct qnet_head {
    reco_model_options arch; /* the architecture fields */
    uint32_t cap[N_CAP], qperiod[N_QPERIOD];
    uint64_t seed, n_updates, step;
    float hyper[N_HYPER], qopts[N_QOPTS];
    reco_qnet_options qo; /* from qopts/qperiod, checked */
} qnet_head;

static int bad_field(const char *path, const char *section, const char *msg)
{
    return reco__error_set_at(RECO_EFORMAT, path, 0, 0, section, "%s", msg);
}

/* Reads every small section and checks the options and optimiser settings. */
static int read_head(reco__reader *r, const char *path, qnet_head *h)
{
    int rc;
    const reco_model_options defaults = RECO_MODEL_OPTIONS_INIT;
    h->arch = defaults;
    if ((rc = reco__model_read_arch(r, path, &h->arch)) < 0 ||
        (rc = reco__reader_section(r, "capacity", RECO__FILE_U32, h->cap, N_CAP)) < 0 ||
        (rc = reco__reader_section(r, "seed", RECO__FILE_U64, &h->seed, 1)) < 0 ||
        (rc = reco__reader_section(r, "hyper", RECO__FILE_F32, h->hyper, N_HYPER)) < 0 ||
        (rc = reco__reader_section(r, "qopts", RECO__FILE_F32, h->qopts, N_QOPTS)) < 0 ||
        (rc = reco__reader_section(r, "qperiod", RECO__FILE_U32, h->qperiod, N_QPERIOD)) < 0 ||
        (rc = reco__reader_section(r, "n_updates", RECO__FILE_U64, &h->n_updates, 1)) < 0 ||
        (rc = reco__reader_section(r, "step", RECO__FILE_U64, &h->step, 1)) < 0)
        return rc;
    reco_qnet_options in = RECO_QNET_OPTIONS_INIT;
    in.gamma = h->qopts[0];
    in.huber_delta = h->qopts[1];
    in.tau = h->qopts[2];
    in.priority_eps = h->qopts[3];
    in.max_abs_q = h->qopts[4];
    in.max_loss = h->qopts[5];
    in.target_period = h->qperiod[0];
    if (h->qperiod[1] > 1)
        return bad_field(path, "qperiod", "keep_last_good is neither 0 nor 1");
    in.keep_last_good = (int)h->qperiod[1];
    if (reco__reader_has_section(r, "qcons") &&
        (rc = reco__reader_section(r, "qcons", RECO__FILE_F32, &in.conservative_alpha, 1)) < 0)
        return rc;
    if (reco__qnet_check_options(&h->qo, &in, "stored options") < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", reco_error_message());
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, "qopts", "%s", msg);
    }
    const float *y = h->hyper;
    if (!(y[0] > 0.0f && y[0] <= 1.0f) || !(y[1] > 0.0f && y[1] <= 10.0f) ||
        !(y[2] >= 0.0f && y[2] < 1.0f) || !(y[3] >= 0.0f && y[3] < 1.0f) ||
        !(y[4] > 0.0f && y[4] <= 1.0f) || !(y[5] >= 0.0f && y[5] <= 1.0f) ||
        !(y[6] >= 0.0f && isfinite(y[6])))
        return bad_field(path, "hyper", "optimiser settings out of range");
    return RECO_OK;
}

/* Checks that every bulk section has the shape of a network with `P` parameters and `N`
 * items, before anything is read. */
static int check_bulk(reco__reader *r, const char *path, uint64_t P, uint64_t N)
{
    static const char *const names[4] = {"online", "target", "adam_m", "adam_v"};
    for (int i = 0; i < 5; i++) {
        const char *name = i < 4 ? names[i] : "row_step";
        const uint32_t want_t = i < 4 ? RECO__FILE_F32 : RECO__FILE_U64;
        const uint64_t want_n = i < 4 ? P : N;
        uint32_t type;
        uint64_t count;
        int rc = reco__reader_section_info(r, name, &type, &count);
        if (rc < 0)
            return rc;
        if (type != want_t || count != want_n)
            return reco__error_set_at(RECO_EFORMAT, path, 0, 0, name,
                                      "section \"%s\" has %llu %s values, this architecture "
                                      "needs %llu %s", name, (unsigned long long)count,
                                      reco__file_type_name(type), (unsigned long long)want_n,
                                      reco__file_type_name(want_t));
    }
    return RECO_OK;
}

/* Clears the online model's accumulated gradients (they belong to replaced parameters). */
static void zero_grads(reco_model *m)
{
    memset(m->grads, 0, m->lay.n_dense * sizeof(float));
    for (size_t i = 0; i < m->n_touched; i++) {
        const size_t id = (size_t)m->touched[i];
        memset(m->grads + m->lay.item_emb + id * m->d, 0, m->d * sizeof(float));
        memset(m->grads + m->lay.item_bias + id * m->H, 0, m->H * sizeof(float));
        m->row_touched[id] = 0;
    }
    m->n_touched = 0;
}

/* Reads the bulk sections into scratch and, when all succeeded, commits the checkpoint into
 * `q` (whose architecture equals the file's). `keep_last_good` of `q` is kept. */
static int load_into(reco_qnet *q, reco__reader *r, const char *path, const qnet_head *h)
{
    reco_model *on = q->online, *tg = q->target;
    const size_t P = on->lay.n_params, N = on->N;
    int rc = check_bulk(r, path, P, N);
    if (rc < 0)
        return rc;
    const size_t nd = N * on->Di, nf = N * on->Kc;
    size_t floats, bytes;
    if (reco__size_mul(&floats, 4 * P + nd, sizeof(float)) < 0 ||
        reco__size_add(&floats, floats, 63) < 0 ||
        reco__size_add(&bytes, floats & ~(size_t)63,
                       N * sizeof(uint64_t) + nf * sizeof(int32_t) + 8) < 0)
        return reco__error_set(RECO_ENOMEM, "%s: checkpoint too large", path);
    unsigned char *scratch = reco__alloc(&q->alloc, bytes, 64);
    if (scratch == NULL)
        return RECO_ENOMEM;
    float *p_on = (float *)(void *)scratch, *p_tg = p_on + P, *m1 = p_tg + P, *m2 = m1 + P;
    float *idense = m2 + P;
    uint64_t *rs = (uint64_t *)(void *)(scratch + (floats & ~(size_t)63));
    int32_t *ifields = (int32_t *)(void *)(rs + N);
    if ((rc = reco__reader_section(r, "online", RECO__FILE_F32, p_on, P)) == RECO_OK &&
        (rc = reco__reader_section(r, "target", RECO__FILE_F32, p_tg, P)) == RECO_OK &&
        (rc = reco__reader_section(r, "adam_m", RECO__FILE_F32, m1, P)) == RECO_OK &&
        (rc = reco__reader_section(r, "adam_v", RECO__FILE_F32, m2, P)) == RECO_OK &&
        (rc = reco__reader_section(r, "row_step", RECO__FILE_U64, rs, N)) == RECO_OK &&
        (rc = reco__model_read_items(r, path, on, idense, ifields)) == RECO_OK) {
        memcpy(on->item_dense, idense, nd * sizeof(float));
        memcpy(tg->item_dense, idense, nd * sizeof(float));
        memcpy(on->item_fields, ifields, nf * sizeof(int32_t));
        memcpy(tg->item_fields, ifields, nf * sizeof(int32_t));
        memcpy(on->params, p_on, P * sizeof(float));
        memcpy(tg->params, p_tg, P * sizeof(float));
        memcpy(on->adam_m, m1, P * sizeof(float));
        memcpy(on->adam_v, m2, P * sizeof(float));
        memcpy(on->row_step, rs, N * sizeof(uint64_t));
        on->step = h->step;
        zero_grads(on);
        hyper_to(&on->opts, h->hyper);
        hyper_to(&tg->opts, h->hyper);
        on->opts.seed = tg->opts.seed = h->seed;
        const int keep = q->opts.keep_last_good;
        q->opts = h->qo;
        q->opts.allocator = NULL;
        q->opts.model = NULL;
        q->opts.keep_last_good = keep;
        q->n_updates = h->n_updates;
        q->has_last_good = 0;
    }
    reco__free(&q->alloc, scratch);
    return rc;
}

int reco_qnet_load(reco_qnet *q, const char *path)
{
    if (q == NULL || path == NULL)
        return reco__error_set(RECO_EINVAL, "reco_qnet_load: q and path must not be NULL");
    reco__reader *r = NULL;
    int rc = reco__reader_open(&r, &q->alloc, path, qnet_magic, 1, QNET_FORMAT_VERSION, NULL);
    if (rc < 0)
        return rc;
    qnet_head h;
    memset(&h, 0, sizeof h);
    rc = read_head(r, path, &h);
    if (rc == RECO_OK) {
        rc = reco__model_check_arch(&h.arch, &q->online->opts, path);
    }
    if (rc == RECO_OK)
        rc = load_into(q, r, path, &h);
    reco__reader_close(r);
    return rc;
}

int reco_qnet_open(reco_qnet **out, const char *path, const reco_qnet_options *runtime)
{
    static const char fn[] = "reco_qnet_open";
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out is NULL", fn);
    *out = NULL;
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "%s: path is NULL", fn);
    const reco_allocator *user_alloc = NULL;
    const reco_model_options *rt_model = NULL;
    if (runtime != NULL) {
        int rc = reco__check_version(runtime->version, RECO_QNET_OPTIONS_VERSION,
                                     "reco_qnet_options");
        if (rc < 0)
            return rc;
        user_alloc = runtime->allocator;
        rt_model = runtime->model;
        if (rt_model != NULL && (rc = reco__check_version(rt_model->version,
                                                          RECO_MODEL_OPTIONS_VERSION,
                                                          "reco_model_options")) < 0)
            return rc;
    }
    reco_allocator a;
    int rc = reco__allocator_resolve(&a, user_alloc);
    if (rc < 0)
        return rc;
    reco__reader *r = NULL;
    rc = reco__reader_open(&r, &a, path, qnet_magic, 1, QNET_FORMAT_VERSION, NULL);
    if (rc < 0)
        return rc;
    qnet_head h;
    memset(&h, 0, sizeof h);
    rc = read_head(r, path, &h);
    if (rc == RECO_OK) {
        /* A checksummed file may still hold an impossible architecture, or one its bulk
         * sections do not match: refuse it before allocating anything for it. */
        reco__model_layout lay;
        char msg[256];
        if (reco__model_layout_init(&lay, &h.arch) < 0) {
            snprintf(msg, sizeof msg, "%s", reco_error_message());
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, "arch",
                                    "the stored architecture is invalid: %s", msg);
        } else {
            rc = check_bulk(r, path, lay.n_params, h.arch.n_items);
        }
    }
    if (rc == RECO_OK) {
        reco_model_options mo = h.arch;
        hyper_to(&mo, h.hyper);
        mo.seed = h.seed;
        mo.max_batch = h.cap[0];
        mo.max_candidates = h.cap[1];
        mo.threads = h.cap[2];
        if (rt_model != NULL) {
            mo.max_batch = rt_model->max_batch;
            mo.max_candidates = rt_model->max_candidates;
            mo.threads = rt_model->threads;
            if (rt_model->version >= 3)
                mo.deterministic = rt_model->deterministic;
        }
        reco_qnet_options qo = h.qo;
        qo.allocator = user_alloc;
        qo.model = &mo;
        reco_qnet *q = NULL;
        rc = reco_qnet_create(&q, &qo);
        if (rc < 0) {
            if (rc != RECO_ENOMEM && rt_model == NULL) {
                /* the message is formatted from a copy: the thread's buffer is the target */
                char msg[256];
                snprintf(msg, sizeof msg, "%s", reco_error_message());
                rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, "arch",
                                        "the stored capacity is invalid: %s", msg);
            }
        } else if ((rc = load_into(q, r, path, &h)) < 0) {
            reco_qnet_free(q);
        } else {
            *out = q;
        }
    }
    reco__reader_close(r);
    return rc;
}
