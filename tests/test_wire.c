/* Wire formats (lib/wire.c): byte-exact round trips of segments (format 1, and format 2 with
 * the session context) and weight snapshots, and refusal of every single-bit flip, every
 * truncation, wrong magic/version, too small capacities and mismatched architectures, with
 * outputs untouched on failure. */
#include <math.h>

#include "test_common.h"
#include "file_private.h"
#include "model_private.h"

enum { H = 3, N = 4, CAP = 1024 };

static const int32_t hist_items[H] = {RECO_PAD, 7, 0};
static const uint32_t hist_fb[H] = {0, 3, 0xffff};
static const int32_t step_items[N] = {1, 2, 2147483647, 0};
static const uint32_t step_fb[N] = {1, 0, 5, 0x8000};
static const float step_rewards[N] = {1.5f, -0.25f, 0.0f, -0.0f};

/* A version-1 segment: encoded in format 1. */
static reco_replay_segment make_segment(uint32_t h, uint32_t n, int ends)
{
    reco_replay_segment s = RECO_REPLAY_SEGMENT_INIT;
    s.version = 1;
    s.history_len = h;
    s.history_items = h ? hist_items : NULL;
    s.history_feedback = h ? hist_fb : NULL;
    s.n_steps = n;
    s.items = step_items;
    s.feedback = step_fb;
    s.rewards = step_rewards;
    s.ends_session = ends;
    return s;
}

typedef struct decoded {
    reco_replay_segment seg;
    int32_t items[N + 4];
    uint32_t fb[N + 4];
    float rew[N + 4];
    int32_t hi[H + 4];
    uint32_t hf[H + 4];
} decoded;

static int decode_into(decoded *d, const void *buf, size_t len)
{
    return reco_segment_decode(&d->seg, d->items, d->fb, d->rew, d->hi, d->hf, N + 4, H + 4,
                               buf, len);
}

static void assert_same_segment(const reco_replay_segment *a, const reco_replay_segment *b)
{
    assert_int_equal(a->history_len, b->history_len);
    assert_int_equal(a->n_steps, b->n_steps);
    assert_int_equal(!!a->ends_session, !!b->ends_session);
    assert_null(b->priorities);
    if (a->history_len > 0) {
        assert_memory_equal(a->history_items, b->history_items, a->history_len * 4);
        assert_memory_equal(a->history_feedback, b->history_feedback, a->history_len * 4);
    } else {
        assert_null(b->history_items);
        assert_null(b->history_feedback);
    }
    assert_memory_equal(a->items, b->items, a->n_steps * 4);
    assert_memory_equal(a->feedback, b->feedback, a->n_steps * 4);
    assert_memory_equal(a->rewards, b->rewards, a->n_steps * 4); /* bitwise: -0.0 kept */
}

static void test_segment_round_trip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h <= H; h++) {
        for (uint32_t n = 1; n <= N; n++) {
            reco_replay_segment s = make_segment(h, n, (int)(n & 1));
            size_t need = 0;
            assert_int_equal(reco_segment_encode(NULL, 0, &need, &s), RECO_OK);
            assert_int_equal(need, 24 + 8 * h + 12 * n);
            unsigned char buf[CAP], buf2[CAP];
            size_t len = 0;
            assert_int_equal(reco_segment_encode(buf, need, &len, &s), RECO_OK);
            assert_int_equal(len, need);
            decoded d;
            assert_int_equal(decode_into(&d, buf, len), RECO_OK);
            assert_same_segment(&s, &d.seg);
            assert_int_equal(d.seg.version, 1);
            /* re-encoding gives the same bytes */
            size_t len2 = 0;
            assert_int_equal(reco_segment_encode(buf2, sizeof buf2, &len2, &d.seg), RECO_OK);
            assert_int_equal(len2, len);
            assert_memory_equal(buf, buf2, len);
        }
    }
}

static void test_segment_layout(void **state)
{
    (void)state;
    reco_replay_segment s = make_segment(1, 1, 1);
    unsigned char buf[64];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    assert_int_equal(len, 44);
    const unsigned char head[20] = {'R', 'S', 'E', 'G', 1, 0, 0, 0, 1, 0, 0, 0,
                                    1, 0, 0, 0, 1, 0, 0, 0};
    assert_memory_equal(buf, head, 20);
    const unsigned char body[20] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0,
                                    1, 0, 0, 0, 0x00, 0x00, 0xc0, 0x3f};
    assert_memory_equal(buf + 20, body, 20);
    uint32_t crc = reco__crc32c(0, buf, 40);
    const unsigned char tail[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                                   (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
    assert_memory_equal(buf + 40, tail, 4);
}

static void test_segment_max_sizes(void **state)
{
    (void)state;
    enum { MH = RECO_WIRE_MAX_HISTORY, MN = 5000 };
    int32_t *hi = malloc(MH * 4), *it = malloc(MN * 4), *dhi = malloc(MH * 4),
            *dit = malloc(MN * 4);
    uint32_t *hf = malloc(MH * 4), *fb = malloc(MN * 4), *dhf = malloc(MH * 4),
             *dfb = malloc(MN * 4);
    float *rw = malloc(MN * 4), *drw = malloc(MN * 4);
    for (uint32_t j = 0; j < MH; j++) {
        hi[j] = j % 5 == 0 ? RECO_PAD : (int32_t)j;
        hf[j] = j & 0xffff;
    }
    for (uint32_t j = 0; j < MN; j++) {
        it[j] = (int32_t)(j * 7919u);
        fb[j] = (j * 31u) & 0xffff;
        rw[j] = (float)j * 0.001f - 2.0f;
    }
    reco_replay_segment s = RECO_REPLAY_SEGMENT_INIT;
    s.history_len = MH;
    s.history_items = hi;
    s.history_feedback = hf;
    s.n_steps = MN;
    s.items = it;
    s.feedback = fb;
    s.rewards = rw;
    size_t need = 0;
    assert_int_equal(reco_segment_encode(NULL, 0, &need, &s), RECO_OK);
    unsigned char *buf = malloc(need);
    assert_int_equal(reco_segment_encode(buf, need, &need, &s), RECO_OK);
    reco_replay_segment out;
    assert_int_equal(reco_segment_decode(&out, dit, dfb, drw, dhi, dhf, MN, MH, buf, need),
                     RECO_OK);
    assert_same_segment(&s, &out);
    /* one short in either capacity: EINVAL, nothing written */
    memset(dit, 0xab, MN * 4);
    assert_reco_error(reco_segment_decode(&out, dit, dfb, drw, dhi, dhf, MN - 1, MH, buf, need),
                      RECO_EINVAL, "steps");
    assert_reco_error(reco_segment_decode(&out, dit, dfb, drw, dhi, dhf, MN, MH - 1, buf, need),
                      RECO_EINVAL, "history");
    for (uint32_t j = 0; j < MN; j++)
        assert_int_equal((uint32_t)dit[j], 0xababababu);
    /* history longer than the limit refused at encode */
    s.history_len = MH + 1;
    assert_reco_error(reco_segment_encode(NULL, 0, &need, &s), RECO_EINVAL, "history_len");
    free(buf);
    free(hi); free(it); free(dhi); free(dit); free(hf); free(fb); free(dhf); free(dfb);
    free(rw); free(drw);
}

static void test_segment_encode_errors(void **state)
{
    (void)state;
    reco_replay_segment s = make_segment(H, N, 0);
    unsigned char buf[CAP];
    size_t len = 0;
    assert_reco_error(reco_segment_encode(buf, sizeof buf, &len, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_segment_encode(NULL, 0, NULL, &s), RECO_EINVAL, "NULL");
    /* too small: needed length reported, buffer untouched */
    size_t need = 24 + 8 * H + 12 * N;
    memset(buf, 0x5a, sizeof buf);
    len = 0;
    assert_reco_error(reco_segment_encode(buf, need - 1, &len, &s), RECO_EINVAL, "needs");
    assert_int_equal(len, need);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0x5a);
    /* also without len_out */
    assert_int_equal(reco_segment_encode(buf, need, NULL, &s), RECO_OK);

    float bad[N] = {1.0f, NAN, 0.0f, 0.0f};
    s.rewards = bad;
    assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, "rewards[1]");
    bad[1] = INFINITY;
    assert_reco_error(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_EINVAL, "rewards[1]");
    s = make_segment(H, N, 0);
    int32_t bad_items[N] = {1, RECO_PAD, 0, 0};
    s.items = bad_items;
    assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, "items[1]");
    s = make_segment(H, N, 0);
    uint32_t bad_fb[N] = {0, 0, 1u << 16, 0};
    s.feedback = bad_fb;
    assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, "feedback[2]");
    s = make_segment(H, N, 0);
    int32_t bad_hist[H] = {0, -5, 0};
    s.history_items = bad_hist;
    assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, "history_items[1]");
    s = make_segment(H, 0, 0);
    assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, "n_steps");
    s = make_segment(H, N, 0);
    s.items = NULL;
    assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, "NULL");
    s = make_segment(H, N, 0);
    s.history_feedback = NULL;
    assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, "NULL");
    s = make_segment(H, N, 0);
    s.version = 99;
    assert_int_equal(reco_segment_encode(NULL, 0, &len, &s), RECO_EVERSION);
}

/* Decode must fail and leave every output as it was. */
static void assert_refused(const void *buf, size_t len)
{
    decoded d, before;
    memset(&d, 0x77, sizeof d);
    before = d;
    int rc = decode_into(&d, buf, len);
    if (rc != RECO_EFORMAT)
        fail_msg("len %zu: expected RECO_EFORMAT, got %s: %s", len, reco_status_name(rc),
                 reco_error_message());
    assert_memory_equal(&d, &before, sizeof d);
}

static void test_segment_corruption(void **state)
{
    (void)state;
    reco_replay_segment s = make_segment(H, N, 1);
    unsigned char buf[CAP], bad[CAP];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    for (size_t bit = 0; bit < len * 8; bit++) {
        memcpy(bad, buf, len);
        bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_refused(bad, len);
    }
    for (size_t l = 0; l < len; l++)
        assert_refused(buf, l);
    /* trailing byte */
    memcpy(bad, buf, len);
    bad[len] = 0;
    assert_refused(bad, len + 1);
    /* wrong magic */
    memcpy(bad, buf, len);
    bad[0] = 'X';
    decoded d;
    assert_reco_error(decode_into(&d, bad, len), RECO_EFORMAT, "magic");
    /* a weight snapshot is not a segment */
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = 10; o.dim = 4; o.lookback = 2; o.ffn_dim = 4; o.n_signals = 1;
    o.max_batch = 1; o.max_candidates = 1;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    size_t plen = 0;
    assert_int_equal(reco_model_params_encode(NULL, 0, &plen, m, 1), RECO_OK);
    unsigned char *pbuf = malloc(plen);
    assert_int_equal(reco_model_params_encode(pbuf, plen, &plen, m, 1), RECO_OK);
    assert_reco_error(decode_into(&d, pbuf, plen), RECO_EFORMAT, "magic");
    free(pbuf);
    reco_model_free(m);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void reseal(unsigned char *buf, size_t len)
{
    put_le32(buf + len - 4, reco__crc32c(0, buf, len - 4));
}

static void test_segment_version_and_values(void **state)
{
    (void)state;
    reco_replay_segment s = make_segment(H, N, 0);
    unsigned char buf[CAP], bad[CAP];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    decoded d;
    /* an intact encoding of another version: EVERSION */
    memcpy(bad, buf, len);
    put_le32(bad + 4, 3);
    reseal(bad, len);
    assert_reco_error(decode_into(&d, bad, len), RECO_EVERSION, "version 3");
    /* well-sealed but invalid contents: EFORMAT naming the problem */
    memcpy(bad, buf, len);
    put_le32(bad + 16, 2);
    reseal(bad, len);
    assert_reco_error(decode_into(&d, bad, len), RECO_EFORMAT, "flags");
    memcpy(bad, buf, len);
    put_le32(bad + 12, N + 1);
    reseal(bad, len);
    assert_reco_error(decode_into(&d, bad, len), RECO_EFORMAT, "need");
    memcpy(bad, buf, len);
    put_le32(bad + 12, 0);
    reseal(bad, len);
    assert_reco_error(decode_into(&d, bad, len), RECO_EFORMAT, "n_steps");
    const size_t rew0 = 20 + 8 * H + 8 * N;
    memcpy(bad, buf, len);
    put_le32(bad + rew0 + 4, 0x7fc00000u); /* NaN */
    reseal(bad, len);
    assert_reco_error(decode_into(&d, bad, len), RECO_EFORMAT, "rewards[1]");
    memcpy(bad, buf, len);
    put_le32(bad + 20 + 8 * H, (uint32_t)RECO_PAD); /* pad as a step item */
    reseal(bad, len);
    assert_reco_error(decode_into(&d, bad, len), RECO_EFORMAT, "items[0]");
    memcpy(bad, buf, len);
    put_le32(bad + 20 + 4 * H, 0x10000u);
    reseal(bad, len);
    assert_reco_error(decode_into(&d, bad, len), RECO_EFORMAT, "history_feedback[0]");
    /* NULL arguments */
    assert_reco_error(reco_segment_decode(NULL, d.items, d.fb, d.rew, d.hi, d.hf, N, H, buf, len),
                      RECO_EINVAL, "NULL");
    assert_reco_error(reco_segment_decode(&d.seg, NULL, d.fb, d.rew, d.hi, d.hf, N, H, buf, len),
                      RECO_EINVAL, "NULL");
    assert_reco_error(reco_segment_decode(&d.seg, d.items, d.fb, d.rew, NULL, d.hf, N, H, buf,
                                          len), RECO_EINVAL, "NULL");
    /* a history-less segment decodes with no history arrays at all */
    s = make_segment(0, N, 0);
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    assert_int_equal(reco_segment_decode(&d.seg, d.items, d.fb, d.rew, NULL, NULL, N, 0, buf,
                                         len), RECO_OK);
    assert_same_segment(&s, &d.seg);
}

static void test_segment_feeds_replay(void **state)
{
    (void)state;
    reco_replay_options o = RECO_REPLAY_OPTIONS_INIT;
    o.capacity = 16;
    o.lookback = H;
    reco_replay *rb = NULL;
    assert_int_equal(reco_replay_create(&rb, &o), RECO_OK);
    reco_replay_segment s = make_segment(H, N, 1);
    unsigned char buf[CAP];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    decoded d;
    assert_int_equal(decode_into(&d, buf, len), RECO_OK);
    assert_int_equal(reco_replay_add_segment(NULL, rb, &d.seg), RECO_OK);
    assert_int_equal(reco_replay_size(rb), N);
    reco_replay_free(rb);
}


/* ---- format 2: the session context ------------------------------------------------------ */

enum { CU = 3, CH = 4 };
static const float ctx_elapsed[N + 1] = {0.0f, 2.5f, 7.0f, 7.0f, 1e9f};
static const float ctx_user[CU] = {0.5f, -0.0f, -3e-38f};
static const int32_t ctx_long_items[CH] = {RECO_PAD, 9, 0, 2147483647};
static const uint32_t ctx_long_fb[CH] = {0, 0xffff, 1, 2};

/* A version-2 segment with u user features and l long-term interactions. */
static reco_replay_segment make_ctx_segment(uint32_t h, uint32_t n, uint32_t u, uint32_t l,
                                            int ends)
{
    reco_replay_segment s = make_segment(h, n, ends);
    s.version = 2;
    s.first_step = 17;
    s.elapsed = ctx_elapsed;
    s.user_dim = u;
    s.user_features = u ? ctx_user : NULL;
    s.long_len = l;
    s.long_items = l ? ctx_long_items : NULL;
    s.long_feedback = l ? ctx_long_fb : NULL;
    return s;
}

typedef struct decoded2 {
    reco_replay_segment seg;
    int32_t items[N + 4], hi[H + 4], li[CH + 2];
    uint32_t fb[N + 4], hf[H + 4], lf[CH + 2];
    float rew[N + 4], el[N + 5], user[CU + 2];
    reco_segment_arrays a;
} decoded2;

static void decoded2_init(decoded2 *d, unsigned int version)
{
    memset(d, 0x77, sizeof *d);
    reco_segment_arrays a = RECO_SEGMENT_ARRAYS_INIT;
    a.max_steps = N + 4;
    a.max_history = H + 4;
    a.max_user_dim = CU + 2;
    a.max_long_len = CH + 2;
    a.items = d->items;
    a.feedback = d->fb;
    a.rewards = d->rew;
    a.history_items = d->hi;
    a.history_feedback = d->hf;
    a.elapsed = d->el;
    a.user_features = d->user;
    a.long_items = d->li;
    a.long_feedback = d->lf;
    d->a = a;
    d->seg.version = version;
}

static int decode2(decoded2 *d, const void *buf, size_t len)
{
    return reco_segment_decode_ex(&d->seg, &d->a, buf, len);
}

static void assert_same_context(const reco_replay_segment *a, const reco_replay_segment *b)
{
    assert_int_equal(b->version, 2);
    assert_int_equal(a->first_step, b->first_step);
    assert_memory_equal(a->elapsed, b->elapsed, (a->n_steps + 1) * 4); /* bitwise */
    assert_int_equal(a->user_dim, b->user_dim);
    assert_int_equal(a->long_len, b->long_len);
    if (a->user_dim > 0)
        assert_memory_equal(a->user_features, b->user_features, a->user_dim * 4);
    else
        assert_null(b->user_features);
    if (a->long_len > 0) {
        assert_memory_equal(a->long_items, b->long_items, a->long_len * 4);
        assert_memory_equal(a->long_feedback, b->long_feedback, a->long_len * 4);
    } else {
        assert_null(b->long_items);
        assert_null(b->long_feedback);
    }
}

static void test_segment_context_round_trip(void **state)
{
    (void)state;
    for (uint32_t h = 0; h <= H; h += 3)
        for (uint32_t n = 1; n <= N; n++)
            for (uint32_t u = 0; u <= CU; u += CU)
                for (uint32_t l = 0; l <= CH; l += 2) {
                    reco_replay_segment s = make_ctx_segment(h, n, u, l, (int)(n & 1));
                    size_t need = 0, len = 0, len2 = 0;
                    assert_int_equal(reco_segment_encode(NULL, 0, &need, &s), RECO_OK);
                    assert_int_equal(need, 40 + 8 * h + 16 * n + 4 * u + 8 * l);
                    unsigned char buf[CAP], buf2[CAP];
                    assert_int_equal(reco_segment_encode(buf, need, &len, &s), RECO_OK);
                    assert_int_equal(len, need);
                    assert_int_equal(buf[4], 2); /* format 2 */
                    decoded2 d;
                    decoded2_init(&d, 2);
                    if (decode2(&d, buf, len) != RECO_OK)
                        fail_msg("decode: %s", reco_error_message());
                    assert_same_segment(&s, &d.seg);
                    assert_same_context(&s, &d.seg);
                    assert_int_equal(reco_segment_encode(buf2, sizeof buf2, &len2, &d.seg),
                                     RECO_OK);
                    assert_int_equal(len2, len);
                    assert_memory_equal(buf, buf2, len);
                }
    /* elapsed NULL travels as zeros */
    reco_replay_segment s = make_ctx_segment(1, 2, 0, 0, 0);
    s.elapsed = NULL;
    unsigned char buf[CAP];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    decoded2 d;
    decoded2_init(&d, 2);
    assert_int_equal(decode2(&d, buf, len), RECO_OK);
    assert_true(d.el[0] == 0.0f && d.el[1] == 0.0f && d.el[2] == 0.0f);
    assert_int_equal(d.seg.first_step, 17);
}

/* The layout of a format-2 encoding, byte for byte. */
static void test_segment_context_layout(void **state)
{
    (void)state;
    reco_replay_segment s = make_ctx_segment(1, 1, 1, 1, 1);
    unsigned char buf[128];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    assert_int_equal(len, 40 + 8 + 16 + 4 + 8);
    const unsigned char head[32] = {'R', 'S', 'E', 'G', 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                                    1, 0, 0, 0, 17, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
    assert_memory_equal(buf, head, 32);
    const unsigned char body[20] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0,
                                    1, 0, 0, 0, 0x00, 0x00, 0xc0, 0x3f};
    assert_memory_equal(buf + 32, body, 20);
    /* elapsed 0, 2.5; user 0.5; long item pad, feedback 0 */
    const unsigned char ctx[20] = {0, 0, 0, 0, 0x00, 0x00, 0x20, 0x40, 0x00, 0x00, 0x00, 0x3f,
                                   0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    assert_memory_equal(buf + 52, ctx, 20);
    uint32_t crc = reco__crc32c(0, buf, 72);
    const unsigned char tail[4] = {(unsigned char)crc, (unsigned char)(crc >> 8),
                                   (unsigned char)(crc >> 16), (unsigned char)(crc >> 24)};
    assert_memory_equal(buf + 72, tail, 4);
}

/* Versions: a version-1 segment gives format 1; reco_segment_decode() and a version-1 output
 * of reco_segment_decode_ex() get a version-1 segment from either format (never writing past
 * a version-1 struct); format 1 into a version-2 output is a version-1 segment. */
static void test_segment_context_versions(void **state)
{
    (void)state;
    reco_replay_segment s2 = make_ctx_segment(H, N, CU, CH, 1), s1 = make_segment(H, N, 1);
    unsigned char b2[CAP], b1[CAP];
    size_t l2 = 0, l1 = 0;
    assert_int_equal(reco_segment_encode(b2, sizeof b2, &l2, &s2), RECO_OK);
    assert_int_equal(reco_segment_encode(b1, sizeof b1, &l1, &s1), RECO_OK);
    assert_int_equal(l1, 24 + 8 * H + 12 * N);
    assert_int_equal(b1[4], 1);
    const size_t v1_end = offsetof(reco_replay_segment, first_step);
    /* the old decoder on format 2: the segment without its context */
    decoded d;
    memset(&d, 0x77, sizeof d);
    assert_int_equal(decode_into(&d, b2, l2), RECO_OK);
    assert_int_equal(d.seg.version, 1);
    assert_same_segment(&s2, &d.seg);
    for (size_t k = v1_end; k < sizeof d.seg; k++)
        assert_int_equal(((unsigned char *)&d.seg)[k], 0x77);
    /* decode_ex with a version-1 output: the same; no context capacity needed */
    decoded2 e;
    decoded2_init(&e, 1);
    e.a.max_user_dim = e.a.max_long_len = 0;
    e.a.elapsed = NULL;
    assert_int_equal(decode2(&e, b2, l2), RECO_OK);
    assert_int_equal(e.seg.version, 1);
    assert_same_segment(&s2, &e.seg);
    for (size_t k = v1_end; k < sizeof e.seg; k++)
        assert_int_equal(((unsigned char *)&e.seg)[k], 0x77);
    /* format 1 into a version-2 output: a version-1 segment (the replay's defaults apply) */
    decoded2_init(&e, 2);
    assert_int_equal(decode2(&e, b1, l1), RECO_OK);
    assert_int_equal(e.seg.version, 1);
    assert_same_segment(&s1, &e.seg);
    /* capacities and arguments */
    decoded2_init(&e, 2);
    e.a.max_user_dim = CU - 1;
    assert_reco_error(decode2(&e, b2, l2), RECO_EINVAL, "user features");
    decoded2_init(&e, 2);
    e.a.max_long_len = CH - 1;
    assert_reco_error(decode2(&e, b2, l2), RECO_EINVAL, "long-term");
    decoded2_init(&e, 2);
    e.a.elapsed = NULL;
    assert_reco_error(decode2(&e, b2, l2), RECO_EINVAL, "elapsed");
    decoded2_init(&e, 2);
    e.a.user_features = NULL;
    assert_reco_error(decode2(&e, b2, l2), RECO_EINVAL, "NULL");
    decoded2_init(&e, 2);
    e.a.version = 2;
    assert_int_equal(decode2(&e, b2, l2), RECO_EVERSION);
    decoded2_init(&e, 3);
    assert_int_equal(decode2(&e, b2, l2), RECO_EVERSION);
    decoded2_init(&e, 2);
    assert_reco_error(reco_segment_decode_ex(NULL, &e.a, b2, l2), RECO_EINVAL, "NULL");
    assert_reco_error(reco_segment_decode_ex(&e.seg, NULL, b2, l2), RECO_EINVAL, "NULL");
}

static void test_segment_context_encode_errors(void **state)
{
    (void)state;
    size_t len = 0;
    float el[N + 1], user[CU];
    int32_t li[CH];
    uint32_t lf[CH];
    reco_replay_segment s;
#define BAD(mutation, needle)                                                                  \
    do {                                                                                       \
        memcpy(el, ctx_elapsed, sizeof el);                                                    \
        memcpy(user, ctx_user, sizeof user);                                                   \
        memcpy(li, ctx_long_items, sizeof li);                                                 \
        memcpy(lf, ctx_long_fb, sizeof lf);                                                    \
        s = make_ctx_segment(H, N, CU, CH, 0);                                                 \
        s.elapsed = el;                                                                        \
        s.user_features = user;                                                                \
        s.long_items = li;                                                                     \
        s.long_feedback = lf;                                                                  \
        mutation;                                                                              \
        assert_reco_error(reco_segment_encode(NULL, 0, &len, &s), RECO_EINVAL, needle);        \
    } while (0)
    BAD(el[N] = -1.0f, "elapsed[4]");
    BAD(el[0] = NAN, "elapsed[0]");
    BAD(el[2] = INFINITY, "elapsed[2]");
    BAD(user[2] = NAN, "user_features[2]");
    BAD(li[1] = -2, "long_items[1]");
    BAD(lf[3] = 1u << 16, "long_feedback[3]");
    BAD(s.first_step = UINT32_MAX - N + 1, "32 bits");
    BAD(s.user_dim = RECO_WIRE_MAX_USER_DIM + 1, "user_dim");
    BAD(s.long_len = RECO_WIRE_MAX_LONG_LEN + 1, "long_len");
    BAD(s.user_features = NULL, "NULL");
    BAD(s.long_feedback = NULL, "NULL");
#undef BAD
    s = make_ctx_segment(H, N, CU, CH, 0);
    s.first_step = UINT32_MAX - N;
    assert_int_equal(reco_segment_encode(NULL, 0, &len, &s), RECO_OK);
}

/* Decode must fail and leave every output as it was. */
static void assert_refused2(const void *buf, size_t len, int code)
{
    decoded2 d, before;
    decoded2_init(&d, 2);
    before = d;
    int rc = decode2(&d, buf, len);
    if (rc != code)
        fail_msg("len %zu: expected %s, got %s: %s", len, reco_status_name(code),
                 reco_status_name(rc), reco_error_message());
    assert_memory_equal(&d, &before, sizeof d);
}

static void test_segment_context_corruption(void **state)
{
    (void)state;
    reco_replay_segment s = make_ctx_segment(H, N, CU, CH, 1);
    unsigned char buf[CAP], bad[CAP];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    for (size_t bit = 0; bit < len * 8; bit++) {
        memcpy(bad, buf, len);
        bad[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_refused2(bad, len, RECO_EFORMAT);
    }
    for (size_t l = 0; l < len; l++)
        assert_refused2(buf, l, RECO_EFORMAT);
    /* well-sealed but invalid: each names the problem, nothing written */
    const size_t el0 = 32 + 8 * H + 12 * N, u0 = el0 + 4 * (N + 1), l0 = u0 + 4 * CU;
    const struct {
        size_t off;
        uint32_t v;
        const char *needle;
    } cases[] = {
        {el0 + 4, 0xbf800000u /* -1 */, "elapsed[1]"},
        {el0, 0x7f800000u /* +inf */, "elapsed[0]"},
        {u0 + 4, 0x7fc00000u /* NaN */, "user_features[1]"},
        {l0, 0xfffffffeu /* -2 */, "long_items[0]"},
        {l0 + 4 * CH + 8, 0x10000u, "long_feedback[2]"},
        {20, UINT32_MAX, "32 bits"},
        {24, CU + 1, "need"},
        {28, RECO_WIRE_MAX_LONG_LEN + 1, "long_len"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(bad, buf, len);
        put_le32(bad + cases[k].off, cases[k].v);
        reseal(bad, len);
        decoded2 d;
        decoded2_init(&d, 2);
        assert_reco_error(decode2(&d, bad, len), RECO_EFORMAT, cases[k].needle);
        assert_refused2(bad, len, RECO_EFORMAT);
    }
    /* a format-2 header too short for its fields */
    memcpy(bad, buf, 28);
    put_le32(bad + 4, 2);
    reseal(bad, 28);
    assert_refused2(bad, 28, RECO_EFORMAT);
}

/* Decoded segments carry their context into a replay buffer that stores it. */
static void test_segment_context_feeds_replay(void **state)
{
    (void)state;
    reco_replay_options o = RECO_REPLAY_OPTIONS_INIT;
    o.capacity = 16;
    o.lookback = H;
    o.user_dim = CU;
    o.long_len = CH;
    reco_replay *rb = NULL;
    assert_int_equal(reco_replay_create(&rb, &o), RECO_OK);
    reco_replay_segment s = make_ctx_segment(H, N, CU, CH, 1);
    unsigned char buf[CAP];
    size_t len = 0;
    assert_int_equal(reco_segment_encode(buf, sizeof buf, &len, &s), RECO_OK);
    decoded2 d;
    decoded2_init(&d, 2);
    assert_int_equal(decode2(&d, buf, len), RECO_OK);
    uint64_t first = 0;
    assert_int_equal(reco_replay_add_segment(&first, rb, &d.seg), RECO_OK);
    uint64_t idx[N];
    uint32_t ss[N], ns[N], lf[N * CH];
    float se[N], ne[N], user[N * CU];
    int32_t li[N * CH];
    reco_replay_batch b = RECO_REPLAY_BATCH_INIT;
    b.indices = idx;
    b.state_steps = ss;
    b.next_steps = ns;
    b.state_elapsed = se;
    b.next_elapsed = ne;
    b.user_features = user;
    b.long_items = li;
    b.long_feedback = lf;
    for (int it = 0; it < 20; it++) {
        assert_int_equal(reco_replay_sample(&b, rb, N), RECO_OK);
        for (uint32_t r = 0; r < N; r++) {
            const uint32_t j = (uint32_t)(idx[r] - first);
            assert_int_equal(ss[r], 17 + j);
            assert_int_equal(ns[r], 18 + j);
            assert_true(se[r] == ctx_elapsed[j] && ne[r] == ctx_elapsed[j + 1]);
            assert_memory_equal(user + r * CU, ctx_user, sizeof ctx_user);
            assert_memory_equal(li + r * CH, ctx_long_items, sizeof ctx_long_items);
            assert_memory_equal(lf + r * CH, ctx_long_fb, sizeof ctx_long_fb);
        }
    }
    reco_replay_free(rb);
}

/* ---- weights ---------------------------------------------------------------------------- */

static reco_model *tiny(uint32_t dim, uint64_t seed)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = 30;
    o.dim = dim;
    o.lookback = 4;
    o.n_blocks = 2;
    o.n_heads = 2;
    o.ffn_dim = 8;
    o.n_signals = 2;
    o.max_batch = 2;
    o.max_candidates = 4;
    o.seed = seed;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    return m;
}

static unsigned char *encode_params(size_t *len, const reco_model *m, uint64_t version)
{
    assert_int_equal(reco_model_params_encode(NULL, 0, len, m, version), RECO_OK);
    unsigned char *buf = malloc(*len);
    size_t len2 = 0;
    assert_int_equal(reco_model_params_encode(buf, *len, &len2, m, version), RECO_OK);
    assert_int_equal(len2, *len);
    return buf;
}

static void test_params_round_trip(void **state)
{
    (void)state;
    reco_model *a = tiny(8, 1), *b = tiny(8, 2);
    a->params[0] = -0.0f; /* bit patterns survive */
    a->params[1] = 1e-45f;
    const size_t P = a->lay.n_params;
    assert_memory_not_equal(a->params, b->params, P * 4);
    size_t len = 0;
    unsigned char *buf = encode_params(&len, a, 0x0123456789abcdefull);
    assert_int_equal(len, 60 + 4 * P);
    assert_memory_equal(buf, "RPRM\1\0\0\0\xef\xcd\xab\x89\x67\x45\x23\x01", 16);
    uint64_t v = 0;
    assert_int_equal(reco_model_params_decode(&v, b, buf, len), RECO_OK);
    assert_true(v == 0x0123456789abcdefull);
    assert_memory_equal(a->params, b->params, P * 4);
    /* and b re-encodes to the same bytes */
    size_t len2 = 0;
    unsigned char *buf2 = encode_params(&len2, b, v);
    assert_int_equal(len2, len);
    assert_memory_equal(buf, buf2, len);
    assert_int_equal(reco_model_params_decode(NULL, b, buf, len), RECO_OK);
    free(buf);
    free(buf2);
    reco_model_free(a);
    reco_model_free(b);
}

static void assert_params_refused(reco_model *m, const float *snapshot, const void *buf,
                                  size_t len, int code)
{
    uint64_t v = 42;
    int rc = reco_model_params_decode(&v, m, buf, len);
    if (rc != code)
        fail_msg("len %zu: expected %s, got %s: %s", len, reco_status_name(code),
                 reco_status_name(rc), reco_error_message());
    assert_true(v == 42);
    assert_memory_equal(m->params, snapshot, m->lay.n_params * 4);
}

static void test_params_corruption(void **state)
{
    (void)state;
    reco_model *a = tiny(8, 1), *b = tiny(8, 2);
    const size_t P = b->lay.n_params;
    float *snap = malloc(P * 4);
    memcpy(snap, b->params, P * 4);
    size_t len = 0;
    unsigned char *buf = encode_params(&len, a, 7);
    unsigned char *bad = malloc(len + 1);
    /* every bit of the header and trailer, and of a few parameters */
    for (size_t bit = 0; bit < len * 8; bit++) {
        size_t byte = bit / 8;
        if (byte >= 56 + 64 && byte < len - 4 && byte % 97 != 0)
            continue;
        memcpy(bad, buf, len);
        bad[byte] ^= (unsigned char)(1u << (bit % 8));
        assert_params_refused(b, snap, bad, len, RECO_EFORMAT);
    }
    for (size_t l = 0; l < len; l++)
        assert_params_refused(b, snap, buf, l, RECO_EFORMAT);
    memcpy(bad, buf, len);
    bad[len] = 0;
    assert_params_refused(b, snap, bad, len + 1, RECO_EFORMAT);
    /* wrong magic, other version */
    memcpy(bad, buf, len);
    bad[3] = 'X';
    assert_params_refused(b, snap, bad, len, RECO_EFORMAT);
    assert_reco_error(reco_model_params_decode(NULL, b, bad, len), RECO_EFORMAT, "magic");
    memcpy(bad, buf, len);
    put_le32(bad + 4, 2);
    reseal(bad, len);
    assert_params_refused(b, snap, bad, len, RECO_EVERSION);
    /* a segment is not a snapshot */
    reco_replay_segment s = make_segment(H, N, 0);
    unsigned char sbuf[CAP];
    size_t slen = 0;
    assert_int_equal(reco_segment_encode(sbuf, sizeof sbuf, &slen, &s), RECO_OK);
    assert_params_refused(b, snap, sbuf, slen, RECO_EFORMAT);
    /* NULLs and too small buffers */
    assert_reco_error(reco_model_params_decode(NULL, NULL, buf, len), RECO_EINVAL, "NULL");
    assert_reco_error(reco_model_params_decode(NULL, b, NULL, len), RECO_EINVAL, "NULL");
    size_t need = 0;
    memset(bad, 0x5a, len);
    assert_reco_error(reco_model_params_encode(bad, len - 1, &need, a, 7), RECO_EINVAL, "needs");
    assert_int_equal(need, len);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(bad[i], 0x5a);
    assert_reco_error(reco_model_params_encode(NULL, 0, NULL, a, 7), RECO_EINVAL, "NULL");
    assert_reco_error(reco_model_params_encode(bad, len, &need, NULL, 7), RECO_EINVAL, "NULL");
    free(bad);
    free(buf);
    free(snap);
    reco_model_free(a);
    reco_model_free(b);
}

static void test_params_architecture_mismatch(void **state)
{
    (void)state;
    reco_model *a = tiny(8, 1), *b = tiny(4, 2);
    const size_t P = b->lay.n_params;
    float *snap = malloc(P * 4);
    memcpy(snap, b->params, P * 4);
    size_t len = 0;
    unsigned char *buf = encode_params(&len, a, 3);
    assert_params_refused(b, snap, buf, len, RECO_EFORMAT);
    assert_reco_error(reco_model_params_decode(NULL, b, buf, len), RECO_EFORMAT, "dim is 8");
    /* same parameter count, different architecture number: refused all the same */
    reco_model *c = tiny(8, 3);
    float *snap_c = malloc(c->lay.n_params * 4);
    memcpy(snap_c, c->params, c->lay.n_params * 4);
    unsigned char *bad = malloc(len);
    memcpy(bad, buf, len);
    put_le32(bad + 16 + 4 * 7, 1); /* user_dim */
    reseal(bad, len);
    assert_params_refused(c, snap_c, bad, len, RECO_EFORMAT);
    assert_reco_error(reco_model_params_decode(NULL, c, bad, len), RECO_EFORMAT, "user_dim");
    /* right architecture, wrong count: refused */
    memcpy(bad, buf, len);
    bad[48] ^= 1;
    reseal(bad, len);
    assert_params_refused(c, snap_c, bad, len, RECO_EFORMAT);
    free(bad);
    free(snap_c);
    reco_model_free(c);
    free(buf);
    free(snap);
    reco_model_free(a);
    reco_model_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_round_trip),
        cmocka_unit_test(test_segment_layout),
        cmocka_unit_test(test_segment_max_sizes),
        cmocka_unit_test(test_segment_encode_errors),
        cmocka_unit_test(test_segment_corruption),
        cmocka_unit_test(test_segment_version_and_values),
        cmocka_unit_test(test_segment_feeds_replay),
        cmocka_unit_test(test_segment_context_round_trip),
        cmocka_unit_test(test_segment_context_layout),
        cmocka_unit_test(test_segment_context_versions),
        cmocka_unit_test(test_segment_context_encode_errors),
        cmocka_unit_test(test_segment_context_corruption),
        cmocka_unit_test(test_segment_context_feeds_replay),
        cmocka_unit_test(test_params_round_trip),
        cmocka_unit_test(test_params_corruption),
        cmocka_unit_test(test_params_architecture_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
