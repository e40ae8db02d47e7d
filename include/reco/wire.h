/**
 * @file wire.h
 * @brief Byte formats of the generator/learner boundary: session segments and weight snapshots.
 * @defgroup reco_wire Wire formats
 * @ingroup reco_core
 *
 * Generators hand the learner session segments (@ref reco_replay_segment) and the learner
 * hands generators policy snapshots (a model's parameter block). These functions turn both
 * into self-checking byte strings, so the two roles can run in separate processes or on
 * separate machines; the bytes carry no pointers and do not depend on the host.
 *
 * **Common rules.** All integers are little-endian; floats are IEEE 754 binary32, stored bit
 * for bit. Every encoding starts with a 4-byte magic and a u32 format version, and ends with
 * a u32 CRC-32C (Castagnoli, as in libreco's files) of every byte before it. Encoders are
 * `snprintf`-like: the needed length is always reported, and nothing is written unless it
 * all fits. Decoders check, in this order, the magic, the checksum (so a damaged encoding is
 * always @ref RECO_EFORMAT, even when the damage is in the version field), the version
 * (@ref RECO_EVERSION, an intact encoding of another format version), the lengths against
 * the bytes given, then the caller's capacities or model, then every value; only when all
 * checks pass is anything written. A failed decode leaves every output as it was.
 *
 * **Segment format** (version 1, written for a version-1 @ref reco_replay_segment),
 * `24 + 8 h + 12 n` bytes for h history interactions and n steps:
 *
 * | offset          | size | field                                              |
 * |-----------------|------|----------------------------------------------------|
 * | 0               | 4    | magic `"RSEG"`                                     |
 * | 4               | 4    | format version, u32 (1)                            |
 * | 8               | 4    | h, u32, 0..@ref RECO_WIRE_MAX_HISTORY              |
 * | 12              | 4    | n, u32, 1..@ref RECO_WIRE_MAX_STEPS                |
 * | 16              | 4    | flags, u32: bit 0 = ends_session; others 0         |
 * | 20              | 4h   | history item ids, i32 (>= 0 or @ref RECO_PAD)      |
 * | 20 + 4h         | 4h   | history feedback bits, u32 (< 2^16)                |
 * | 20 + 8h         | 4n   | step item ids, i32 (>= 0)                          |
 * | 20 + 8h + 4n    | 4n   | step feedback bits, u32 (< 2^16)                   |
 * | 20 + 8h + 8n    | 4n   | rewards, f32 (finite)                              |
 * | 20 + 8h + 12n   | 4    | CRC-32C of bytes 0 .. 19 + 8h + 12n                |
 *
 * **Segment format** (version 2, written for a version-2 @ref reco_replay_segment, with the
 * session context), `40 + 8 h + 16 n + 4 U + 8 H` bytes with U user features and H
 * long-term interactions:
 *
 * | offset               | size   | field                                             |
 * |----------------------|--------|---------------------------------------------------|
 * | 0                    | 4      | magic `"RSEG"`                                    |
 * | 4                    | 4      | format version, u32 (2)                           |
 * | 8                    | 4      | h, u32, 0..@ref RECO_WIRE_MAX_HISTORY             |
 * | 12                   | 4      | n, u32, 1..@ref RECO_WIRE_MAX_STEPS               |
 * | 16                   | 4      | flags, u32: bit 0 = ends_session; others 0        |
 * | 20                   | 4      | first_step, u32 (first_step + n < 2^32)           |
 * | 24                   | 4      | U, u32, 0..@ref RECO_WIRE_MAX_USER_DIM            |
 * | 28                   | 4      | H, u32, 0..@ref RECO_WIRE_MAX_LONG_LEN            |
 * | 32                   | 8h+12n | history and steps, as in version 1                |
 * | 32 + 8h + 12n        | 4n + 4 | elapsed seconds, f32 (n + 1: finite, >= 0)        |
 * | 36 + 8h + 16n        | 4U     | user features, f32 (finite)                       |
 * | 36 + 8h + 16n + 4U   | 4H     | long-term item ids, i32 (>= 0 or @ref RECO_PAD)   |
 * | 36 + 8h + 16n + 4U+4H| 4H     | long-term feedback bits, u32 (< 2^16)             |
 * | 36 + 8h + 16n + 4U+8H| 4      | CRC-32C of every byte before                      |
 *
 * A segment's `elapsed` of NULL is encoded as zeros. The segment's `priorities` are not
 * carried: the learner assigns priorities on arrival.
 *
 * **Weight snapshot format** (version 1), `60 + 4 P` bytes for P parameters:
 *
 * | offset | size | field                                                              |
 * |--------|------|--------------------------------------------------------------------|
 * | 0      | 4    | magic `"RPRM"`                                                     |
 * | 4      | 4    | format version, u32 (1)                                            |
 * | 8      | 8    | snapshot version, u64 (the learner's update count, caller-chosen)  |
 * | 16     | 32   | architecture, u32[8]: n_items, dim, lookback, n_blocks, n_heads,   |
 * |        |      | ffn_dim, n_signals, user_dim (as in model checkpoints)             |
 * | 48     | 8    | P, u64: parameter count                                            |
 * | 56     | 4P   | the parameter block, f32, in the model's internal order            |
 * | 56 + 4P| 4    | CRC-32C of bytes 0 .. 55 + 4P                                      |
 *
 * Only the parameters travel: optimiser state, seeds and hyperparameters stay with the
 * learner. Values are carried bit for bit, non-finite ones included.
 *
 * @code
 * // generator side
 * size_t need = 0;
 * reco_segment_encode(NULL, 0, &need, &seg);           // size only
 * reco_segment_encode(buf, cap, &need, &seg);          // RECO_OK when need <= cap
 * // learner side, into preallocated arrays (the session context included)
 * reco_segment_arrays a = RECO_SEGMENT_ARRAYS_INIT;
 * a.max_steps = max_n; a.items = items; a.feedback = fb; a.rewards = rew;
 * a.elapsed = elapsed;                                 // (max_n + 1)
 * a.max_history = max_h; a.history_items = h_items; a.history_feedback = h_fb;
 * a.max_user_dim = U; a.user_features = user;
 * a.max_long_len = H; a.long_items = l_items; a.long_feedback = l_fb;
 * reco_replay_segment in = RECO_REPLAY_SEGMENT_INIT;
 * if (reco_segment_decode_ex(&in, &a, buf, need) == 0)
 *     reco_replay_add_segment(NULL, rb, &in);
 * @endcode
 *
 * @par Thread safety
 * Every function is safe from any thread; concurrent calls must not write the same buffer
 * or model, and reco_model_params_decode() must not run while another thread uses @p model.
 *
 * @par API tier
 * **Core**: stable for the life of libreco.so.0 (@ref abi_tiers "API tiers").
 * @{
 */
#ifndef RECO_WIRE_H
#define RECO_WIRE_H

#include "reco/common.h"
#include "reco/model.h"
#include "reco/replay.h"

RECO_BEGIN_DECLS

/** Newest segment format: written by reco_segment_encode() for a version-2 segment (a
 *  version-1 segment gives format 1); the decoders accept 1 and 2. */
#define RECO_WIRE_SEGMENT_VERSION 2
/** Format version written by reco_model_params_encode() and accepted by its decoder. */
#define RECO_WIRE_PARAMS_VERSION 1
/** Most history interactions in an encoded segment (the largest model lookback). */
#define RECO_WIRE_MAX_HISTORY 512
/** Most steps in an encoded segment (the largest replay capacity, 2^31). */
#define RECO_WIRE_MAX_STEPS 2147483648u
/** Most user features in an encoded segment (the largest model user_dim). @since 0.2 */
#define RECO_WIRE_MAX_USER_DIM 65536
/** Most long-term interactions in an encoded segment (the largest model long_len).
 *  @since 0.2 */
#define RECO_WIRE_MAX_LONG_LEN 4096

/** Current version of @ref reco_segment_arrays. @since 0.2 */
#define RECO_SEGMENT_ARRAYS_VERSION 1

/**
 * @brief Caller-owned arrays that reco_segment_decode_ex() decodes into, with their
 *        capacities (elements).
 * @since 0.2
 */
typedef struct reco_segment_arrays {
    unsigned int version;       /**< @ref RECO_SEGMENT_ARRAYS_VERSION. */
    size_t max_steps;           /**< Capacity of items, feedback, rewards. */
    size_t max_history;         /**< Capacity of history_items, history_feedback. */
    size_t max_user_dim;        /**< Capacity of user_features. */
    size_t max_long_len;        /**< Capacity of long_items, long_feedback. */
    int32_t *items;             /**< (max_steps) step item ids. */
    uint32_t *feedback;         /**< (max_steps) step feedback bits. */
    float *rewards;             /**< (max_steps) rewards. */
    int32_t *history_items;     /**< (max_history) history item ids. */
    uint32_t *history_feedback; /**< (max_history) history feedback bits. */
    /** (max_steps + 1) elapsed seconds; needed to decode a format-2 encoding into a
     *  version-2 segment. */
    float *elapsed;
    float *user_features;       /**< (max_user_dim) user features. */
    int32_t *long_items;        /**< (max_long_len) long-term item ids. */
    uint32_t *long_feedback;    /**< (max_long_len) long-term feedback bits. */
} reco_segment_arrays;

/** Initialiser for an empty @ref reco_segment_arrays of the current version. */
#define RECO_SEGMENT_ARRAYS_INIT                                                               \
    { RECO_SEGMENT_ARRAYS_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL }

/**
 * @brief Encode a session segment into @p buf.
 *
 * The segment is validated as reco_replay_add_segment() validates it, apart from the
 * buffer-dependent limits: `n_steps` 1..@ref RECO_WIRE_MAX_STEPS, `history_len`
 * 0..@ref RECO_WIRE_MAX_HISTORY, item ids `>= 0` (or @ref RECO_PAD in the history), feedback
 * values `< 2^16`, finite rewards; for a version-2 segment (format 2) also `user_dim`
 * 0..@ref RECO_WIRE_MAX_USER_DIM, `long_len` 0..@ref RECO_WIRE_MAX_LONG_LEN, non-NULL
 * context arrays of positive length, `first_step + n_steps < 2^32`, finite elapsed times
 * >= 0, finite user features, long-term ids `>= 0` or @ref RECO_PAD and feedback `< 2^16`.
 * A version-1 segment is written in format 1. `priorities` is ignored.
 * @param[out] buf      destination, or NULL to only compute the length.
 * @param[in]  cap      bytes available at @p buf (ignored when @p buf is NULL).
 * @param[out] len_out  receives the encoded length whenever the segment is valid, also when
 *                      it does not fit; may be NULL only when @p buf is non-NULL.
 * @param[in]  seg      the segment.
 * @return @ref RECO_OK (with @p buf NULL only the length was stored in @p len_out; otherwise
 *         the encoding is in `buf[0 .. *len_out - 1]`); @ref RECO_EINVAL for a NULL argument
 *         (@p seg, an array with a nonzero count, or @p len_out with @p buf NULL), an invalid value
 *         (the message names the first bad element), or @p buf non-NULL with @p cap smaller
 *         than the length (then @p len_out still receives the length). @ref RECO_EVERSION
 *         for an unknown `seg->version`. On error nothing is written to @p buf.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_segment_encode(void *buf, size_t cap, size_t *len_out,
                                 const reco_replay_segment *seg);

/**
 * @brief Decode a segment encoded by reco_segment_encode() into caller-owned arrays,
 *        without its session context (see reco_segment_decode_ex()).
 *
 * Never allocates. On success @p out is a version-1 segment (only the version-1 part of
 * @p out is written) whose arrays are the caller's (`history_items`/`history_feedback` NULL
 * when its history is empty) and whose `priorities` is NULL, ready for
 * reco_replay_add_segment(). A format-2 encoding is checked in full, but its session
 * context is not returned.
 * @param[out] out            receives the segment.
 * @param[out] items          (max_steps) step item ids.
 * @param[out] feedback       (max_steps) step feedback bits.
 * @param[out] rewards        (max_steps) rewards.
 * @param[out] hist_items     (max_history) history item ids; may be NULL if max_history is 0.
 * @param[out] hist_feedback  (max_history) history feedback bits; likewise.
 * @param[in]  max_steps      capacity of the step arrays.
 * @param[in]  max_history    capacity of the history arrays.
 * @param[in]  buf            the encoding.
 * @param[in]  len            its exact length in bytes (trailing bytes are an error).
 * @return @ref RECO_OK; @ref RECO_EFORMAT for a wrong magic, a checksum mismatch (any
 *         damaged byte), a length that does not match the counts, nonzero reserved flag bits
 *         or an invalid value; @ref RECO_EVERSION for an intact encoding of another format
 *         version; @ref RECO_EINVAL for a NULL argument or arrays too small for the segment's
 *         counts. On error nothing is written to any output.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.1
 */
RECO_API int reco_segment_decode(reco_replay_segment *out, int32_t *items, uint32_t *feedback,
                                 float *rewards, int32_t *hist_items, uint32_t *hist_feedback,
                                 size_t max_steps, size_t max_history, const void *buf,
                                 size_t len);

/**
 * @brief Decode a segment encoded by reco_segment_encode(), its session context included,
 *        into caller-owned arrays.
 *
 * Never allocates. The checks and their order are those of reco_segment_decode(), with the
 * capacities of @p arrays. On success @p out (its @c version set by the caller, 1..current;
 * nothing past that version is written) is a segment whose arrays are those of @p arrays and
 * whose `priorities` is NULL: of version 2 with `first_step`, `elapsed`, the user features
 * and the long-term history when the encoding is of format 2 and @p out of version 2, else of
 * version 1 (no context), ready for reco_replay_add_segment().
 * @param[in,out] out     receives the segment; its @c version says how much may be written.
 * @param[in]     arrays  the destination arrays and their capacities (borrowed).
 * @param[in]     buf     the encoding.
 * @param[in]     len     its exact length in bytes.
 * @return @ref RECO_OK; @ref RECO_EFORMAT as reco_segment_decode(); @ref RECO_EVERSION for
 *         an intact encoding of another format version, or an unknown `out->version` or
 *         `arrays->version`; @ref RECO_EINVAL for a NULL argument, an array NULL with a
 *         positive capacity, capacities too small for the encoding's counts, or
 *         `arrays->elapsed` NULL for a context to return. On error nothing is written to
 *         any output.
 * @par Thread safety
 * Safe from any thread.
 * @since 0.2
 */
RECO_API int reco_segment_decode_ex(reco_replay_segment *out, const reco_segment_arrays *arrays,
                                    const void *buf, size_t len);

/**
 * @brief Encode a model's parameters, with its architecture and a snapshot version.
 * @param[out] buf      destination, or NULL to only compute the length.
 * @param[in]  cap      bytes available at @p buf (ignored when @p buf is NULL).
 * @param[out] len_out  receives the encoded length (`60 + 4 P`), also when it does not fit;
 *                      may be NULL only when @p buf is non-NULL.
 * @param[in]  model    the model; only read.
 * @param[in]  version  snapshot version to record, typically the learner's update count.
 * @return @ref RECO_OK; @ref RECO_EINVAL for NULL @p model, @p len_out NULL with @p buf
 *         NULL, or @p buf non-NULL with @p cap smaller than the length (nothing is written
 *         then, and @p len_out still receives the length).
 * @par Thread safety
 * Safe from any thread; no thread may change @p model's parameters during the call.
 * @since 0.1
 */
RECO_API int reco_model_params_encode(void *buf, size_t cap, size_t *len_out,
                                      const reco_model *model, uint64_t version);

/**
 * @brief Replace a model's parameters with an encoded snapshot of the same architecture.
 *
 * Everything is validated before the model is touched; optimiser state is left as it is.
 * @param[out]    version_out  receives the snapshot version (may be NULL); written only on
 *                             success.
 * @param[in,out] model        the model whose parameters are replaced.
 * @param[in]     buf          the encoding.
 * @param[in]     len          its exact length in bytes.
 * @return @ref RECO_OK; @ref RECO_EFORMAT for a wrong magic, a checksum mismatch, a length
 *         that does not match the parameter count, or an architecture or parameter count
 *         other than @p model's (the message names the first differing number);
 *         @ref RECO_EVERSION for an intact encoding of another format version;
 *         @ref RECO_EINVAL for NULL @p model or @p buf. On error the model is unchanged.
 * @par Thread safety
 * Safe from any thread; no other thread may use @p model during the call.
 * @since 0.1
 */
RECO_API int reco_model_params_decode(uint64_t *version_out, reco_model *model,
                                      const void *buf, size_t len);

RECO_END_DECLS

/** @} */

#endif /* RECO_WIRE_H */
