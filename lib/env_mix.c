/* An ensemble of simulators as one env: see env_mix_private.h. */
#include <string.h>

#include "alloc_private.h"
#include "env_mix_private.h"
#include "error_private.h"

/* Rows of group k (slots[i] % K == k): their slots in mx->slots, their row indices in
 * mx->rows; returns the count. */
static uint32_t mix_group(reco__env_mix *mx, const uint32_t *slots, uint32_t n, uint32_t k)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++)
        if (slots[i] % mx->K == k) {
            mx->slots[m] = slots[i];
            mx->rows[m++] = i;
        }
    return m;
}

static int mix_reset(const uint32_t *slots, const uint64_t *users, uint32_t n, void *p)
{
    reco__env_mix *mx = p;
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        for (uint32_t i = 0; i < m; i++)
            mx->users[i] = users[mx->rows[i]];
        int rc = m ? mx->sims[k].reset(mx->slots, mx->users, m, mx->sims[k].payload) : 0;
        if (rc < 0)
            return rc;
    }
    return RECO_OK;
}

static int mix_observe(int32_t *items_out, uint32_t *fb_out, float *feat_out,
                       const uint32_t *slots, uint32_t n, void *p)
{
    reco__env_mix *mx = p;
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        if (m == 0)
            continue;
        int rc = mx->sims[k].observe(mx->items, mx->hfb, mx->U ? mx->feat : NULL, mx->slots, m,
                                     mx->sims[k].payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < m; i++) {
            const size_t r = mx->rows[i];
            memcpy(items_out + r * mx->L, mx->items + (size_t)i * mx->L, mx->L * sizeof(int32_t));
            memcpy(fb_out + r * mx->L, mx->hfb + (size_t)i * mx->L, mx->L * sizeof(uint32_t));
            if (mx->U && feat_out)
                memcpy(feat_out + r * mx->U, mx->feat + (size_t)i * mx->U,
                       mx->U * sizeof(float));
        }
    }
    return RECO_OK;
}

static int mix_candidates(int32_t *items_out, uint32_t *count_out, uint32_t max_candidates,
                          const uint32_t *slots, uint32_t n, void *p)
{
    reco__env_mix *mx = p;
    if ((size_t)max_candidates * n > mx->cap_cand)
        return reco__error_set(RECO_EINVAL, "the ensemble env was asked for %u candidates x "
                               "%u rows, more than its %zu", max_candidates, n, mx->cap_cand);
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        if (m == 0)
            continue;
        int rc = mx->sims[k].candidates(mx->cand, mx->counts, max_candidates, mx->slots, m,
                                        mx->sims[k].payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < m; i++) {
            const size_t r = mx->rows[i];
            memcpy(items_out + r * max_candidates, mx->cand + (size_t)i * max_candidates,
                   max_candidates * sizeof(int32_t));
            count_out[r] = mx->counts[i];
        }
    }
    return RECO_OK;
}

static int mix_step(uint32_t *fb_out, float *reward_out, int *done_out, const uint32_t *slots,
                    const int32_t *items, uint32_t n, void *p)
{
    reco__env_mix *mx = p;
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        if (m == 0)
            continue;
        for (uint32_t i = 0; i < m; i++)
            mx->shown[i] = items[mx->rows[i]];
        int rc = mx->sims[k].step(mx->fb, mx->reward, mx->done, mx->slots, mx->shown, m,
                                  mx->sims[k].payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < m; i++) {
            fb_out[mx->rows[i]] = mx->fb[i];
            reward_out[mx->rows[i]] = mx->reward[i];
            done_out[mx->rows[i]] = mx->done[i];
        }
    }
    return RECO_OK;
}

static int mix_context(uint32_t *steps_out, float *elapsed_out, int32_t *long_items_out,
                       uint32_t *long_fb_out, const uint32_t *slots, uint32_t n, void *p)
{
    reco__env_mix *mx = p;
    for (uint32_t k = 0; k < mx->K; k++) {
        const uint32_t m = mix_group(mx, slots, n, k);
        if (m == 0)
            continue;
        int rc = mx->sims[k].context(mx->steps, mx->elapsed, mx->H ? mx->long_items : NULL,
                                     mx->H ? mx->long_fb : NULL, mx->slots, m,
                                     mx->sims[k].payload);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < m; i++) {
            const size_t r = mx->rows[i];
            if (steps_out != NULL)
                steps_out[r] = mx->steps[i];
            if (elapsed_out != NULL)
                elapsed_out[r] = mx->elapsed[i];
            if (mx->H && long_items_out != NULL)
                memcpy(long_items_out + r * mx->H, mx->long_items + (size_t)i * mx->H,
                       mx->H * sizeof(int32_t));
            if (mx->H && long_fb_out != NULL)
                memcpy(long_fb_out + r * mx->H, mx->long_fb + (size_t)i * mx->H,
                       mx->H * sizeof(uint32_t));
        }
    }
    return RECO_OK;
}

void reco__env_mix_free(reco__env_mix *mx)
{
    if (mx->a == NULL)
        return;
    void *bufs[] = {mx->slots, mx->rows, mx->counts, mx->fb, mx->users, mx->items, mx->shown,
                    mx->hfb, mx->feat, mx->reward, mx->done, mx->cand, mx->steps, mx->elapsed,
                    mx->long_items, mx->long_fb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        reco__free(mx->a, bufs[i]);
    memset(mx, 0, sizeof *mx);
}

/* The env of K simulators (K >= 1) with S slots each, candidates up to C. */
int reco__env_mix_init(reco__env_mix *mx, reco_env *out, reco_sim *const *sims, uint32_t K,
                       uint32_t S, uint32_t C, const reco_allocator *a)
{
    memset(mx, 0, sizeof *mx);
    mx->a = a;
    mx->K = K;
    for (uint32_t k = 0; k < K; k++) {
        int rc = reco_sim_env(&mx->sims[k], sims[k]);
        if (rc < 0)
            return rc;
    }
    mx->L = mx->sims[0].lookback;
    mx->U = mx->sims[0].user_dim;
    mx->C = C;
    mx->H = mx->sims[0].version >= 3 ? mx->sims[0].long_len : 0;
    mx->cap_cand = (size_t)S * C;
    mx->slots = reco__calloc(a, S, sizeof(uint32_t));
    mx->rows = reco__calloc(a, S, sizeof(uint32_t));
    mx->counts = reco__calloc(a, S, sizeof(uint32_t));
    mx->fb = reco__calloc(a, S, sizeof(uint32_t));
    mx->users = reco__calloc(a, S, sizeof(uint64_t));
    mx->items = reco__calloc(a, (size_t)S * mx->L, sizeof(int32_t));
    mx->shown = reco__calloc(a, S, sizeof(int32_t));
    mx->hfb = reco__calloc(a, (size_t)S * mx->L, sizeof(uint32_t));
    mx->feat = reco__calloc(a, (size_t)S * mx->U + 1, sizeof(float));
    mx->reward = reco__calloc(a, S, sizeof(float));
    mx->done = reco__calloc(a, S, sizeof(int));
    mx->cand = reco__calloc(a, mx->cap_cand, sizeof(int32_t));
    mx->steps = reco__calloc(a, S, sizeof(uint32_t));
    mx->elapsed = reco__calloc(a, S, sizeof(float));
    mx->long_items = reco__calloc(a, (size_t)S * mx->H + 1, sizeof(int32_t));
    mx->long_fb = reco__calloc(a, (size_t)S * mx->H + 1, sizeof(uint32_t));
    if (!mx->slots || !mx->rows || !mx->counts || !mx->fb || !mx->users || !mx->items ||
        !mx->shown || !mx->hfb || !mx->feat || !mx->reward || !mx->done || !mx->cand ||
        !mx->steps || !mx->elapsed || !mx->long_items || !mx->long_fb)
        return reco__error_set(RECO_ENOMEM, "out of memory for the ensemble env");
    *out = mx->sims[0];
    out->reset = mix_reset;
    out->observe = mix_observe;
    out->candidates = mix_candidates;
    out->step = mix_step;
    out->context = out->context != NULL ? mix_context : NULL;
    out->probabilities = NULL; /* no oracle of the mixture */
    out->save_state = NULL; /* no checkpoints of the mixture */
    out->load_state = NULL;
    out->payload = mx;
    return RECO_OK;
}

