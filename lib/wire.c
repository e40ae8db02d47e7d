/* Wire formats of the generator/learner boundary: session segments ("RSEG") and parameter
 * snapshots ("RPRM"). The layouts and the order of checks are documented in
 * include/reco/wire.h. Encodings are byte strings already in memory, so decoders validate
 * every byte before they write any output: a failed decode changes nothing.
 *
 * Loads and stores go byte by byte, so buffers need no alignment and the bytes are
 * little-endian on any host; on a little-endian host the parameter block, the bulk of a
 * snapshot, is copied with memcpy instead (the same bytes, several times faster). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "reco/wire.h"
#include "error_private.h"
#include "file_private.h"
#include "model_private.h"
#include "replay_private.h"
#include "wire_private.h"

static const unsigned char seg_magic[4] = {'R', 'S', 'E', 'G'};
static const unsigned char prm_magic[4] = {'R', 'P', 'R', 'M'};

enum {
    SEG_HEADER = 20,    /* magic, version, h, n, flags */
    SEG_HEADER_V2 = 32, /* ... then first_step, U, H */
    PRM_HEADER = 56, /* magic, version, snapshot version, arch[8], P */
    CRC_SIZE = 4,
    N_ARCH = 8
};

#define SEG_FLAG_ENDS_SESSION 1u

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Bytes of a segment of format `format` with h history interactions, n steps, U user
 * features and H long-term interactions (format 2); 0 if it overflows size_t. */
static size_t seg_length(uint32_t format, uint64_t h, uint64_t n, uint64_t U, uint64_t H)
{
    /* h, n, U, H < 2^32: no overflow in 64 bits */
    const uint64_t total = format >= 2 ? (uint64_t)SEG_HEADER_V2 + 8u * h + 16u * n + 4u +
                                             4u * U + 8u * H + CRC_SIZE
                                       : (uint64_t)SEG_HEADER + 8u * h + 12u * n + CRC_SIZE;
    return total > SIZE_MAX ? 0 : (size_t)total;
}

int reco__segment_peek(size_t *len_out, const void *buf, size_t avail)
{
    const unsigned char *p = buf;
    if (avail < SEG_HEADER + CRC_SIZE || memcmp(p, seg_magic, 4) != 0)
        return reco__error_set(RECO_EFORMAT, "a truncated or damaged segment encoding");
    const uint32_t format = get_u32(p + 4);
    if (format >= 2 && avail < SEG_HEADER_V2 + CRC_SIZE)
        return reco__error_set(RECO_EFORMAT, "a truncated segment encoding");
    const size_t len = seg_length(format, get_u32(p + 8), get_u32(p + 12),
                                  format >= 2 ? get_u32(p + 24) : 0,
                                  format >= 2 ? get_u32(p + 28) : 0);
    if (len == 0 || len > avail)
        return reco__error_set(RECO_EFORMAT, "a truncated segment encoding");
    *len_out = len;
    return RECO_OK;
}

/* Checks one interaction; `what` names the array for the message. */
static int check_item(const char *fn, const char *what, uint32_t j, int32_t item, int allow_pad,
                      int code)
{
    if (item < 0 && !(allow_pad && item == RECO_PAD))
        return reco__error_set(code, "%s: %s[%u] = %d is not a valid item id", fn, what, j,
                               (int)item);
    return RECO_OK;
}

static int check_feedback(const char *fn, const char *what, uint32_t j, uint32_t fb, int code)
{
    if (fb >= 1u << 16)
        return reco__error_set(code, "%s: %s[%u] = 0x%x uses bits above 15", fn, what, j, fb);
    return RECO_OK;
}

static int check_reward(const char *fn, uint32_t j, float r, int code)
{
    if (!isfinite(r))
        return reco__error_set(code, "%s: rewards[%u] = %g is not finite", fn, j, (double)r);
    return RECO_OK;
}

static int check_context_counts(const char *fn, uint64_t U, uint64_t H, uint64_t first_step,
                                uint64_t n, int code)
{
    if (U > RECO_WIRE_MAX_USER_DIM)
        return reco__error_set(code, "%s: user_dim %llu exceeds %u", fn, (unsigned long long)U,
                               (unsigned)RECO_WIRE_MAX_USER_DIM);
    if (H > RECO_WIRE_MAX_LONG_LEN)
        return reco__error_set(code, "%s: long_len %llu exceeds %u", fn, (unsigned long long)H,
                               (unsigned)RECO_WIRE_MAX_LONG_LEN);
    if (first_step + n > UINT32_MAX)
        return reco__error_set(code, "%s: first_step %llu + %llu steps does not fit in 32 bits",
                               fn, (unsigned long long)first_step, (unsigned long long)n);
    return RECO_OK;
}

static int check_elapsed(const char *fn, uint32_t j, float v, int code)
{
    if (!(v >= 0.0f) || !isfinite(v))
        return reco__error_set(code, "%s: elapsed[%u] = %g is not a finite number of seconds "
                               ">= 0", fn, j, (double)v);
    return RECO_OK;
}

static int check_user(const char *fn, uint32_t j, float v, int code)
{
    if (!isfinite(v))
        return reco__error_set(code, "%s: user_features[%u] = %g is not finite", fn, j,
                               (double)v);
    return RECO_OK;
}

static int check_counts(const char *fn, uint64_t h, uint64_t n, int code)
{
    if (h > RECO_WIRE_MAX_HISTORY)
        return reco__error_set(code, "%s: history_len %llu exceeds %u", fn,
                               (unsigned long long)h, (unsigned)RECO_WIRE_MAX_HISTORY);
    if (n < 1 || n > RECO_WIRE_MAX_STEPS)
        return reco__error_set(code, "%s: n_steps %llu is not in 1..%u", fn,
                               (unsigned long long)n, RECO_WIRE_MAX_STEPS);
    return RECO_OK;
}

int reco_segment_encode(void *buf, size_t cap, size_t *len_out,
                        const reco_replay_segment *segment)
{
    static const char fn[] = "reco_segment_encode";
    if (segment == NULL)
        return reco__error_set(RECO_EINVAL, "%s: seg is NULL", fn);
    if (buf == NULL && len_out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: buf and len_out are both NULL", fn);
    int rc = reco__check_version(segment->version, RECO_REPLAY_SEGMENT_VERSION,
                                 "reco_replay_segment");
    if (rc < 0)
        return rc;
    /* a version-1 segment gives format 1, which decoders of libreco 0.1 read too */
    const uint32_t format = segment->version >= 2 ? 2u : 1u;
    const reco_replay_segment sv = reco__replay_segment_of(segment);
    const reco_replay_segment *seg = &sv;
    const uint32_t h = seg->history_len, n = seg->n_steps;
    if ((rc = check_counts(fn, h, n, RECO_EINVAL)) < 0)
        return rc;
    if (h > 0 && (seg->history_items == NULL || seg->history_feedback == NULL))
        return reco__error_set(RECO_EINVAL, "%s: history arrays are NULL with history_len %u",
                               fn, h);
    if (seg->items == NULL || seg->feedback == NULL || seg->rewards == NULL)
        return reco__error_set(RECO_EINVAL, "%s: step arrays are NULL with n_steps %u", fn, n);
    for (uint32_t j = 0; j < h; j++) {
        if ((rc = check_item(fn, "history_items", j, seg->history_items[j], 1, RECO_EINVAL)) < 0 ||
            (rc = check_feedback(fn, "history_feedback", j, seg->history_feedback[j],
                                 RECO_EINVAL)) < 0)
            return rc;
    }
    for (uint32_t j = 0; j < n; j++) {
        if ((rc = check_item(fn, "items", j, seg->items[j], 0, RECO_EINVAL)) < 0 ||
            (rc = check_feedback(fn, "feedback", j, seg->feedback[j], RECO_EINVAL)) < 0 ||
            (rc = check_reward(fn, j, seg->rewards[j], RECO_EINVAL)) < 0)
            return rc;
    }
    const uint32_t U = format >= 2 ? seg->user_dim : 0, H = format >= 2 ? seg->long_len : 0;
    if (format >= 2) {
        if ((rc = check_context_counts(fn, U, H, seg->first_step, n, RECO_EINVAL)) < 0)
            return rc;
        if ((U > 0 && seg->user_features == NULL) ||
            (H > 0 && (seg->long_items == NULL || seg->long_feedback == NULL)))
            return reco__error_set(RECO_EINVAL, "%s: user_features, long_items or "
                                   "long_feedback is NULL with a positive length", fn);
        for (uint32_t j = 0; seg->elapsed != NULL && j <= n; j++)
            if ((rc = check_elapsed(fn, j, seg->elapsed[j], RECO_EINVAL)) < 0)
                return rc;
        for (uint32_t j = 0; j < U; j++)
            if ((rc = check_user(fn, j, seg->user_features[j], RECO_EINVAL)) < 0)
                return rc;
        for (uint32_t j = 0; j < H; j++)
            if ((rc = check_item(fn, "long_items", j, seg->long_items[j], 1, RECO_EINVAL)) < 0 ||
                (rc = check_feedback(fn, "long_feedback", j, seg->long_feedback[j],
                                     RECO_EINVAL)) < 0)
                return rc;
    }
    const size_t len = seg_length(format, h, n, U, H);
    if (len == 0)
        return reco__error_set(RECO_EINVAL, "%s: the encoding does not fit in size_t", fn);
    if (len_out != NULL)
        *len_out = len;
    if (buf == NULL)
        return RECO_OK;
    if (cap < len)
        return reco__error_set(RECO_EINVAL, "%s: buffer of %zu bytes, the segment needs %zu",
                               fn, cap, len);

    unsigned char *p = buf;
    memcpy(p, seg_magic, 4);
    put_u32(p + 4, format);
    put_u32(p + 8, h);
    put_u32(p + 12, n);
    put_u32(p + 16, seg->ends_session ? SEG_FLAG_ENDS_SESSION : 0u);
    if (format >= 2) {
        put_u32(p + 20, seg->first_step);
        put_u32(p + 24, U);
        put_u32(p + 28, H);
    }
    unsigned char *q = p + (format >= 2 ? SEG_HEADER_V2 : SEG_HEADER);
    for (uint32_t j = 0; j < h; j++, q += 4)
        put_u32(q, (uint32_t)seg->history_items[j]);
    for (uint32_t j = 0; j < h; j++, q += 4)
        put_u32(q, seg->history_feedback[j]);
    for (uint32_t j = 0; j < n; j++, q += 4)
        put_u32(q, (uint32_t)seg->items[j]);
    for (uint32_t j = 0; j < n; j++, q += 4)
        put_u32(q, seg->feedback[j]);
    for (uint32_t j = 0; j < n; j++, q += 4)
        put_u32(q, f32_bits(seg->rewards[j]));
    if (format >= 2) {
        for (uint32_t j = 0; j <= n; j++, q += 4)
            put_u32(q, seg->elapsed != NULL ? f32_bits(seg->elapsed[j]) : 0u);
        for (uint32_t j = 0; j < U; j++, q += 4)
            put_u32(q, f32_bits(seg->user_features[j]));
        for (uint32_t j = 0; j < H; j++, q += 4)
            put_u32(q, (uint32_t)seg->long_items[j]);
        for (uint32_t j = 0; j < H; j++, q += 4)
            put_u32(q, seg->long_feedback[j]);
    }
    put_u32(q, reco__crc32c(0, p, len - CRC_SIZE));
    return RECO_OK;
}

/* Magic, minimum length, checksum and format version, common to both formats. */
static int check_envelope(const char *fn, const unsigned char *p, size_t len, size_t min_len,
                          const unsigned char magic[4], uint32_t min_version, uint32_t version)
{
    if (len < 4 || memcmp(p, magic, 4) != 0) {
        if (len < 4 && memcmp(p, magic, len) == 0)
            return reco__error_set(RECO_EFORMAT, "%s: truncated: %zu bytes", fn, len);
        return reco__error_set(RECO_EFORMAT, "%s: not a \"%.4s\" encoding (wrong magic)", fn,
                               (const char *)magic);
    }
    if (len < min_len)
        return reco__error_set(RECO_EFORMAT,
                               "%s: truncated: expected at least %zu bytes, got %zu", fn,
                               min_len, len);
    if (reco__crc32c(0, p, len - CRC_SIZE) != get_u32(p + len - CRC_SIZE))
        return reco__error_set(RECO_EFORMAT, "%s: checksum mismatch (corrupted or truncated)",
                               fn);
    const uint32_t v = get_u32(p + 4);
    if (v < min_version || v > version) {
        if (min_version == version)
            return reco__error_set(RECO_EVERSION, "%s: format version %u not supported (%u)",
                                   fn, v, version);
        return reco__error_set(RECO_EVERSION, "%s: format version %u not supported (%u..%u)",
                               fn, v, min_version, version);
    }
    return RECO_OK;
}

/* Decodes into the arrays of `a`; `want_ctx`: the caller's segment has the context fields
 * (version >= 2), so a format-2 encoding's context is returned (and needs room). On success
 * `*out` is a current-version segment whose version is 1 when it carries no context. */
static int decode_segment(reco_replay_segment *out, const reco_segment_arrays *a, int want_ctx,
                          const void *buf, size_t len, const char *fn)
{
    const unsigned char *p = buf;
    int rc = check_envelope(fn, p, len, SEG_HEADER + CRC_SIZE, seg_magic, 1,
                            RECO_WIRE_SEGMENT_VERSION);
    if (rc < 0)
        return rc;
    const uint32_t format = get_u32(p + 4);
    if (format >= 2 && len < SEG_HEADER_V2 + CRC_SIZE)
        return reco__error_set(RECO_EFORMAT, "%s: truncated: expected at least %d bytes, got "
                               "%zu", fn, SEG_HEADER_V2 + CRC_SIZE, len);
    const uint32_t h = get_u32(p + 8), n = get_u32(p + 12), flags = get_u32(p + 16);
    const uint32_t first_step = format >= 2 ? get_u32(p + 20) : 0;
    const uint32_t U = format >= 2 ? get_u32(p + 24) : 0, H = format >= 2 ? get_u32(p + 28) : 0;
    if ((rc = check_counts(fn, h, n, RECO_EFORMAT)) < 0 ||
        (rc = check_context_counts(fn, U, H, first_step, n, RECO_EFORMAT)) < 0)
        return rc;
    const size_t want = seg_length(format, h, n, U, H);
    if (want != len)
        return reco__error_set(RECO_EFORMAT, "%s: %zu bytes, but history_len %u, n_steps %u, "
                               "user_dim %u and long_len %u need %zu", fn, len, h, n, U, H,
                               want);
    if (flags & ~SEG_FLAG_ENDS_SESSION)
        return reco__error_set(RECO_EFORMAT, "%s: unknown flags 0x%x", fn, flags);
    const int ctx = format >= 2 && want_ctx;
    if (n > a->max_steps)
        return reco__error_set(RECO_EINVAL, "%s: %u steps, the arrays hold %zu", fn, n,
                               a->max_steps);
    if (h > a->max_history)
        return reco__error_set(RECO_EINVAL, "%s: %u history interactions, the arrays hold %zu",
                               fn, h, a->max_history);
    if (ctx && (U > a->max_user_dim || H > a->max_long_len))
        return reco__error_set(RECO_EINVAL, "%s: %u user features and %u long-term "
                               "interactions, the arrays hold %zu and %zu", fn, U, H,
                               a->max_user_dim, a->max_long_len);
    if (ctx && a->elapsed == NULL)
        return reco__error_set(RECO_EINVAL, "%s: the encoding has elapsed times, but "
                               "arrays->elapsed is NULL", fn);
    const unsigned char *hi = p + (format >= 2 ? SEG_HEADER_V2 : SEG_HEADER), *hf = hi + 4u * h;
    const unsigned char *si = hf + 4u * h, *sf = si + 4u * (size_t)n, *sr = sf + 4u * (size_t)n;
    const unsigned char *se = sr + 4u * (size_t)n, *su = se + 4u * ((size_t)n + 1);
    const unsigned char *sli = su + 4u * (size_t)U, *slf = sli + 4u * (size_t)H;
    for (uint32_t j = 0; j < h; j++) {
        if ((rc = check_item(fn, "history_items", j, (int32_t)get_u32(hi + 4u * j), 1,
                             RECO_EFORMAT)) < 0 ||
            (rc = check_feedback(fn, "history_feedback", j, get_u32(hf + 4u * j),
                                 RECO_EFORMAT)) < 0)
            return rc;
    }
    for (uint32_t j = 0; j < n; j++) {
        const size_t o = 4u * (size_t)j;
        if ((rc = check_item(fn, "items", j, (int32_t)get_u32(si + o), 0, RECO_EFORMAT)) < 0 ||
            (rc = check_feedback(fn, "feedback", j, get_u32(sf + o), RECO_EFORMAT)) < 0 ||
            (rc = check_reward(fn, j, bits_f32(get_u32(sr + o)), RECO_EFORMAT)) < 0)
            return rc;
    }
    /* the context is checked even when it is not returned: a valid encoding is one thing */
    for (uint32_t j = 0; format >= 2 && j <= n; j++)
        if ((rc = check_elapsed(fn, j, bits_f32(get_u32(se + 4u * (size_t)j)), RECO_EFORMAT)) < 0)
            return rc;
    for (uint32_t j = 0; j < U; j++)
        if ((rc = check_user(fn, j, bits_f32(get_u32(su + 4u * j)), RECO_EFORMAT)) < 0)
            return rc;
    for (uint32_t j = 0; j < H; j++)
        if ((rc = check_item(fn, "long_items", j, (int32_t)get_u32(sli + 4u * j), 1,
                             RECO_EFORMAT)) < 0 ||
            (rc = check_feedback(fn, "long_feedback", j, get_u32(slf + 4u * j),
                                 RECO_EFORMAT)) < 0)
            return rc;
    /* Everything checked: now write. */
    for (uint32_t j = 0; j < h; j++) {
        a->history_items[j] = (int32_t)get_u32(hi + 4u * j);
        a->history_feedback[j] = get_u32(hf + 4u * j);
    }
    for (uint32_t j = 0; j < n; j++) {
        const size_t o = 4u * (size_t)j;
        a->items[j] = (int32_t)get_u32(si + o);
        a->feedback[j] = get_u32(sf + o);
        a->rewards[j] = bits_f32(get_u32(sr + o));
    }
    reco_replay_segment s = RECO_REPLAY_SEGMENT_INIT;
    s.version = ctx ? RECO_REPLAY_SEGMENT_VERSION : 1;
    s.history_len = h;
    s.history_items = h > 0 ? a->history_items : NULL;
    s.history_feedback = h > 0 ? a->history_feedback : NULL;
    s.n_steps = n;
    s.items = a->items;
    s.feedback = a->feedback;
    s.rewards = a->rewards;
    s.ends_session = (flags & SEG_FLAG_ENDS_SESSION) != 0;
    s.priorities = NULL;
    if (ctx) {
        for (uint32_t j = 0; j <= n; j++)
            a->elapsed[j] = bits_f32(get_u32(se + 4u * (size_t)j));
        for (uint32_t j = 0; j < U; j++)
            a->user_features[j] = bits_f32(get_u32(su + 4u * j));
        for (uint32_t j = 0; j < H; j++) {
            a->long_items[j] = (int32_t)get_u32(sli + 4u * j);
            a->long_feedback[j] = get_u32(slf + 4u * j);
        }
        s.first_step = first_step;
        s.elapsed = a->elapsed;
        s.user_dim = U;
        s.user_features = U > 0 ? a->user_features : NULL;
        s.long_len = H;
        s.long_items = H > 0 ? a->long_items : NULL;
        s.long_feedback = H > 0 ? a->long_feedback : NULL;
    }
    *out = s;
    return RECO_OK;
}

int reco_segment_decode(reco_replay_segment *out, int32_t *items, uint32_t *feedback,
                        float *rewards, int32_t *hist_items, uint32_t *hist_feedback,
                        size_t max_steps, size_t max_history, const void *buf, size_t len)
{
    static const char fn[] = "reco_segment_decode";
    if (out == NULL || buf == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out and buf must not be NULL", fn);
    if (max_steps > 0 && (items == NULL || feedback == NULL || rewards == NULL))
        return reco__error_set(RECO_EINVAL, "%s: step arrays are NULL with max_steps %zu", fn,
                               max_steps);
    if (max_history > 0 && (hist_items == NULL || hist_feedback == NULL))
        return reco__error_set(RECO_EINVAL, "%s: history arrays are NULL with max_history %zu",
                               fn, max_history);
    reco_segment_arrays a = RECO_SEGMENT_ARRAYS_INIT;
    a.max_steps = max_steps;
    a.max_history = max_history;
    a.items = items;
    a.feedback = feedback;
    a.rewards = rewards;
    a.history_items = hist_items;
    a.history_feedback = hist_feedback;
    reco_replay_segment s;
    int rc = decode_segment(&s, &a, 0, buf, len, fn);
    if (rc < 0)
        return rc;
    /* a version-1 segment, written no further than a version-1 struct reaches */
    memcpy(out, &s, offsetof(reco_replay_segment, first_step));
    return RECO_OK;
}

int reco_segment_decode_ex(reco_replay_segment *out, const reco_segment_arrays *arrays,
                           const void *buf, size_t len)
{
    static const char fn[] = "reco_segment_decode_ex";
    if (out == NULL || arrays == NULL || buf == NULL)
        return reco__error_set(RECO_EINVAL, "%s: out, arrays and buf must not be NULL", fn);
    int rc = reco__check_version(out->version, RECO_REPLAY_SEGMENT_VERSION,
                                 "reco_replay_segment");
    if (rc < 0 || (rc = reco__check_version(arrays->version, RECO_SEGMENT_ARRAYS_VERSION,
                                            "reco_segment_arrays")) < 0)
        return rc;
    const reco_segment_arrays *a = arrays;
    if ((a->max_steps > 0 && (a->items == NULL || a->feedback == NULL || a->rewards == NULL)) ||
        (a->max_history > 0 && (a->history_items == NULL || a->history_feedback == NULL)) ||
        (a->max_user_dim > 0 && a->user_features == NULL) ||
        (a->max_long_len > 0 && (a->long_items == NULL || a->long_feedback == NULL)))
        return reco__error_set(RECO_EINVAL, "%s: an array is NULL with a positive capacity",
                               fn);
    const int want_ctx = out->version >= 2;
    reco_replay_segment s;
    if ((rc = decode_segment(&s, a, want_ctx, buf, len, fn)) < 0)
        return rc;
    if (want_ctx)
        *out = s;
    else
        memcpy(out, &s, offsetof(reco_replay_segment, first_step));
    return RECO_OK;
}

static const char *const arch_names[N_ARCH] = {"n_items", "dim", "lookback", "n_blocks",
                                               "n_heads", "ffn_dim", "n_signals", "user_dim"};

static void arch_of(uint32_t arch[N_ARCH], const reco_model_options *o)
{
    arch[0] = o->n_items;
    arch[1] = o->dim;
    arch[2] = o->lookback;
    arch[3] = o->n_blocks;
    arch[4] = o->n_heads;
    arch[5] = o->ffn_dim;
    arch[6] = o->n_signals;
    arch[7] = o->user_dim;
}

/* Bytes of a snapshot of P parameters; 0 if it overflows size_t. */
static size_t prm_length(uint64_t n_params)
{
    if (n_params > (SIZE_MAX - PRM_HEADER - CRC_SIZE) / 4)
        return 0;
    return PRM_HEADER + 4 * (size_t)n_params + CRC_SIZE;
}

int reco_model_params_encode(void *buf, size_t cap, size_t *len_out, const reco_model *model,
                             uint64_t version)
{
    static const char fn[] = "reco_model_params_encode";
    if (model == NULL)
        return reco__error_set(RECO_EINVAL, "%s: model is NULL", fn);
    if (buf == NULL && len_out == NULL)
        return reco__error_set(RECO_EINVAL, "%s: buf and len_out are both NULL", fn);
    const size_t n_params = model->lay.n_params;
    const size_t len = prm_length(n_params);
    if (len == 0)
        return reco__error_set(RECO_EINVAL, "%s: the encoding does not fit in size_t", fn);
    if (len_out != NULL)
        *len_out = len;
    if (buf == NULL)
        return RECO_OK;
    if (cap < len)
        return reco__error_set(RECO_EINVAL, "%s: buffer of %zu bytes, the snapshot needs %zu",
                               fn, cap, len);
    unsigned char *p = buf;
    uint32_t arch[N_ARCH];
    arch_of(arch, &model->opts);
    memcpy(p, prm_magic, 4);
    put_u32(p + 4, RECO_WIRE_PARAMS_VERSION);
    put_u64(p + 8, version);
    for (int i = 0; i < N_ARCH; i++)
        put_u32(p + 16 + 4 * i, arch[i]);
    put_u64(p + 48, (uint64_t)n_params);
    unsigned char *q = p + PRM_HEADER;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(q, model->params, 4 * n_params);
    q += 4 * n_params;
#else
    for (size_t i = 0; i < n_params; i++, q += 4)
        put_u32(q, f32_bits(model->params[i]));
#endif
    put_u32(q, reco__crc32c(0, p, len - CRC_SIZE));
    return RECO_OK;
}

int reco_model_params_decode(uint64_t *version_out, reco_model *model, const void *buf,
                             size_t len)
{
    static const char fn[] = "reco_model_params_decode";
    if (model == NULL || buf == NULL)
        return reco__error_set(RECO_EINVAL, "%s: model and buf must not be NULL", fn);
    const unsigned char *p = buf;
    int rc = check_envelope(fn, p, len, PRM_HEADER + CRC_SIZE, prm_magic,
                            RECO_WIRE_PARAMS_VERSION, RECO_WIRE_PARAMS_VERSION);
    if (rc < 0)
        return rc;
    const uint64_t n_params = get_u64(p + 48);
    if (prm_length(n_params) != len)
        return reco__error_set(RECO_EFORMAT, "%s: %zu bytes, but %llu parameters need %zu",
                               fn, len, (unsigned long long)n_params, prm_length(n_params));
    uint32_t arch[N_ARCH];
    arch_of(arch, &model->opts);
    for (int i = 0; i < N_ARCH; i++) {
        const uint32_t v = get_u32(p + 16 + 4 * i);
        if (v != arch[i])
            return reco__error_set(RECO_EFORMAT, "%s: %s is %u in the snapshot but %u in the model",
                                   fn, arch_names[i], v, arch[i]);
    }
    if (n_params != (uint64_t)model->lay.n_params)
        return reco__error_set(RECO_EFORMAT,
                               "%s: %llu parameters in the snapshot, %zu in the model", fn,
                               (unsigned long long)n_params, model->lay.n_params);
    const unsigned char *q = p + PRM_HEADER;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(model->params, q, 4 * model->lay.n_params);
#else
    for (size_t i = 0; i < model->lay.n_params; i++, q += 4)
        model->params[i] = bits_f32(get_u32(q));
#endif
    if (version_out != NULL)
        *version_out = get_u64(p + 8);
    return RECO_OK;
}
