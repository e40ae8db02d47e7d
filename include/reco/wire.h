/**
 * @file wire.h
 * @brief Byte formats of the generator/learner boundary: session segments and weight snapshots.
 * @defgroup reco_wire Wire formats
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
 * **Segment format** (version 1), `24 + 8 h + 12 n` bytes for h history interactions and
 * n steps:
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
 * The segment's `priorities` are not carried: the learner assigns priorities on arrival.
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
 * // learner side, into preallocated arrays
 * reco_replay_segment in;
 * if (reco_segment_decode(&in, items, fb, rew, h_items, h_fb, max_n, max_h, buf, need) == 0)
 *     reco_replay_add_segment(NULL, rb, &in);
 * @endcode
 *
 * @par Thread safety
 * Every function is safe from any thread; concurrent calls must not write the same buffer
 * or model, and reco_model_params_decode() must not run while another thread uses @p model.
 * @{
 */
#ifndef RECO_WIRE_H
#define RECO_WIRE_H

#include "reco/common.h"
#include "reco/model.h"
#include "reco/replay.h"

RECO_BEGIN_DECLS

/** Format version written by reco_segment_encode() and accepted by reco_segment_decode(). */
#define RECO_WIRE_SEGMENT_VERSION 1
/** Format version written by reco_model_params_encode() and accepted by its decoder. */
#define RECO_WIRE_PARAMS_VERSION 1
/** Most history interactions in an encoded segment (the largest model lookback). */
#define RECO_WIRE_MAX_HISTORY 512
/** Most steps in an encoded segment (the largest replay capacity, 2^31). */
#define RECO_WIRE_MAX_STEPS 2147483648u

/**
 * @brief Encode a session segment into @p buf.
 *
 * The segment is validated as reco_replay_add_segment() validates it, apart from the
 * buffer-dependent limits: `n_steps` 1..@ref RECO_WIRE_MAX_STEPS, `history_len`
 * 0..@ref RECO_WIRE_MAX_HISTORY, item ids `>= 0` (or @ref RECO_PAD in the history), feedback
 * values `< 2^16`, finite rewards. `priorities` is ignored.
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
 * @brief Decode a segment encoded by reco_segment_encode() into caller-owned arrays.
 *
 * Never allocates. On success @p out is a segment of the current version whose arrays are
 * the caller's (`history_items`/`history_feedback` NULL when its history is empty) and whose
 * `priorities` is NULL, ready for reco_replay_add_segment().
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
