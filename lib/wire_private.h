/* Wire-format internals shared with the trainer, which walks an outbox of encoded segments. */
#ifndef RECO_WIRE_PRIVATE_H
#define RECO_WIRE_PRIVATE_H

#include <stddef.h>

/* The length of the segment encoding at the start of `buf` (of `avail` bytes), from its
 * header (format 1 or 2), without checking the rest: RECO_EFORMAT when the header is not a
 * segment's or the encoding is longer than `avail`. reco_segment_decode_ex() then checks
 * everything. */
int reco__segment_peek(size_t *len_out, const void *buf, size_t avail);

#endif /* RECO_WIRE_PRIVATE_H */
