/* The binary container behind every libreco file: model checkpoints, replay snapshots, trainer
 * state, serialised transitions and weights. Callers pick an 8-byte magic and a format version
 * and store named, typed arrays ("sections"); this file guarantees that a reader either gets
 * exactly what a writer committed or an error, and that a crash or a full disk never leaves a
 * torn file at the target path.
 *
 * ---- Format ------------------------------------------------------------------------------
 * All integers little-endian, all offsets in bytes from the start of the file; L is the total
 * file length. Every structure starts at an offset that is a multiple of 8, so a reader that
 * maps the file sees 8-byte-aligned arrays.
 *
 *   Header, 32 bytes at offset 0
 *     0   8  magic       caller's 8 bytes ("RECOMDL1", "RECORPL1", ...), not NUL-terminated
 *     8   4  version     caller's format version (u32)
 *    12   4  flags       container flags (u32); 0 in this container version; a reader rejects
 *                        any other value, so future container features must set a bit
 *    16   8  length      L, the whole file, header and trailer included (u64); a multiple of 8
 *    24   4  sections    number of sections (u32)
 *    28   4  header_crc  CRC-32C of bytes 0..27
 *
 *   Sections, back to back from offset 32 until L - 8; each is
 *     0  16  name        1..15 bytes in 0x21..0x7e ('!'..'~'), then NUL bytes up to 16; unique
 *                        in the file (compared bytewise)
 *    16   4  type        element type (u32), RECO__FILE_* below
 *    20   4  reserved    0
 *    24   8  count       number of elements (u64); 0 is allowed
 *    32   n  data        count * size(type) bytes, elements little-endian
 *    32+n p  padding     0..7 zero bytes, so that n + p is a multiple of 8
 *
 *   Trailer, 8 bytes at offset L - 8
 *     0   4  end         the bytes "REND"
 *     4   4  body_crc    CRC-32C of bytes 32 .. L-5 (every section and "REND")
 *
 * Every byte of the file is covered by a check: magic by comparison, bytes 0..27 by header_crc,
 * 32..L-5 by body_crc, and each CRC field by itself. The minimal file (no sections) is 40 bytes.
 *
 * Element types and sizes: 1 u8 (1), 2 i32 (4), 3 u32 (4), 4 u64 (8), 5 f32 (4), 6 f64 (8),
 * 7 bytes (1; an opaque blob, as opposed to u8, a numeric array), 8 i64 (8). f32/f64 are
 * IEEE 754 binary32/binary64. Numbers are never reused; new types are only appended.
 *
 * Checksum: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR
 * 0xFFFFFFFF; check value of "123456789" = 0xE3069283), the CRC of iSCSI, ext4, Btrfs, LevelDB
 * and TFRecord. Chosen over plain CRC-32 (zlib) because, at the same cost, its polynomial
 * detects more: every 3-bit error in messages up to about 2^31 bits, where CRC-32's guarantee
 * stops at about 91 kbit (Koopman 2002, "32-bit CRCs for Internet applications"), and because
 * x86 (SSE4.2) and ARMv8 compute it in hardware, should speed ever matter. Here it is portable
 * software: slice-by-8 tables built once under pthread_once.
 *
 * Order of checks in the reader, each failing with the message quoted (after "path: "):
 *   file shorter than 8 bytes, or its magic differs   RECO_EFORMAT "not a MAGIC file" (a short
 *                                                    prefix of the magic: "truncated: ...")
 *   shorter than 40 bytes                            RECO_EFORMAT "truncated: expected at least
 *                                                    40 bytes, file has M"
 *   header_crc                                       RECO_EFORMAT "header checksum mismatch
 *                                                    (file corrupted)"
 *   flags, length (>= 40, multiple of 8)             RECO_EFORMAT
 *   version outside [min, max]                       RECO_EVERSION "format version 7 not
 *                                                    supported (1..2)"
 *   length > file size                               RECO_EFORMAT "truncated: expected N bytes,
 *                                                    file has M"; < file size: "trailing data"
 *   section table, padding, "REND", body_crc         RECO_EFORMAT; a damaged body always says
 *                                                    "checksum mismatch (file corrupted)", a
 *                                                    well-checksummed but malformed table says
 *                                                    what is wrong
 * Because header_crc is checked before the version, a flipped bit anywhere (the version field
 * included) gives RECO_EFORMAT; RECO_EVERSION means an intact file of another version.
 *
 * ---- Files on disk -------------------------------------------------------------------------
 * The writer streams into "PATH.tmp-<pid>-<n>" in the target's directory (created with
 * O_EXCL and mode 0666 minus the umask, like any new file; mkstemp would force 0600), patches
 * the header at commit, fsyncs, renames over PATH and then fsyncs the directory (best effort:
 * the new file is already complete and in place, so that failure is not reported). Any
 * failure before the rename leaves PATH as it was and removes the temporary file. A symbolic
 * link at PATH is replaced by the new file, not followed.
 *
 * The reader streams too, with a fixed 256 KiB buffer rather than holding the file: open()
 * reads the file once to verify both CRCs and build the section table; each section read
 * then fetches its bytes again with pread straight into the caller's buffer. Writers replace
 * files by rename, never in place, and the reader keeps the descriptor it verified, so the
 * second read sees the verified bytes; as a guard against someone rewriting the file in place
 * anyway, a section read fails with RECO_EFORMAT "file changed" when its size or mtime moved.
 *
 * Errors: every failure is recorded with reco__error_set_at(code, path, ...), so a message
 * reads "path: problem", e.g. "ckpt.bin: section \"params\" has 1000 f32 values, expected
 * 1024". Nothing aborts, exits or prints. Memory comes from the caller's allocator (NULL: the
 * process default).
 *
 * Thread safety: reco__crc32c() and the type helpers may be called from any thread. A writer
 * or reader is used by one thread at a time; distinct ones are independent. The container
 * assumes a little-endian host (x86-64, ARM, RISC-V); file.c refuses to compile otherwise. */
#ifndef RECO_FILE_PRIVATE_H
#define RECO_FILE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "reco/alloc.h"

/* Element types of a section; values are written to files and never change. */
typedef enum reco__file_type {
    RECO__FILE_U8 = 1,
    RECO__FILE_I32 = 2,
    RECO__FILE_U32 = 3,
    RECO__FILE_U64 = 4,
    RECO__FILE_F32 = 5,
    RECO__FILE_F64 = 6,
    RECO__FILE_BYTES = 7,
    RECO__FILE_I64 = 8
} reco__file_type;

#define RECO__FILE_MAGIC_SIZE 8
/* Longest section name, in bytes, without the terminating NUL. */
#define RECO__FILE_NAME_MAX 15
#define RECO__FILE_HEADER_SIZE 32
#define RECO__FILE_SECTION_HEADER_SIZE 32
#define RECO__FILE_TRAILER_SIZE 8

/* CRC-32C of `n` bytes, continuing from `crc` (0 to start): crc32c(crc32c(0, a), b) equals
 * crc32c(0, a followed by b). `data` may be NULL when `n` is 0. */
uint32_t reco__crc32c(uint32_t crc, const void *data, size_t n);

/* Size in bytes of one element of `type`; 0 for an unknown type. */
size_t reco__file_type_size(uint32_t type);

/* Short name of `type` ("f32", "bytes"); "unknown" for an unknown type. */
const char *reco__file_type_name(uint32_t type);

/* ---- Writer --------------------------------------------------------------------------------
 * Usage:
 *     reco__writer *w;
 *     int rc = reco__writer_open(&w, alloc, path, "RECOMDL1", 1);
 *     if (rc < 0)
 *         return rc;
 *     if ((rc = reco__writer_section(w, "params", RECO__FILE_F32, params, n)) < 0) {
 *         reco__writer_abort(w);
 *         return rc;
 *     }
 *     return reco__writer_commit(w);   (frees w whatever happens)
 * After any failed call the writer only accepts reco__writer_abort() (or commit, which then
 * fails with RECO_ESTATE): a failure is sticky so that a partly written section can never end
 * up in a committed file. Section data goes to the file as it comes, through a 64 KiB buffer;
 * larger pieces are written directly, so the writer's memory does not grow with the payload
 * (apart from 16 bytes per section name, kept to refuse duplicates). */
typedef struct reco__writer reco__writer;

/* Creates the temporary file next to `path` and returns a writer for it in `*out` (NULL on
 * failure, with nothing to clean up). `magic` is 8 bytes, not a string; `path`, `magic` are
 * copied. Errors: RECO_EINVAL (NULL argument, empty path or one ending in '/'), RECO_ENOMEM,
 * RECO_EIO (the directory does not exist or is not writable; message names `path`). */
int reco__writer_open(reco__writer **out, const reco_allocator *a, const char *path,
                      const char magic[8], uint32_t version);

/* Writes a whole section: `count` elements of `type` from `data` (NULL allowed when `count` is
 * 0). Errors: RECO_EINVAL (bad name: empty, longer than 15 bytes or not in '!'..'~'; unknown
 * type; duplicate name; byte size overflows), RECO_ESTATE (a piecewise section is open, or an
 * earlier call failed), RECO_ENOMEM, RECO_EIO. */
int reco__writer_section(reco__writer *w, const char *name, uint32_t type, const void *data,
                         uint64_t count);

/* A section written in pieces (a ring buffer in two slices, a table row by row): begin declares
 * the total element count, append adds `count` elements (any number of calls), end checks that
 * exactly the declared count arrived. Errors as for reco__writer_section(), plus RECO_EINVAL
 * for appending past the declared count or ending short of it, and RECO_ESTATE for append/end
 * without begin or begin while a section is open. */
int reco__writer_section_begin(reco__writer *w, const char *name, uint32_t type, uint64_t count);
int reco__writer_section_append(reco__writer *w, const void *data, uint64_t count);
int reco__writer_section_end(reco__writer *w);

/* Writes the trailer, patches the header, fsyncs, renames the temporary file over `path` and
 * fsyncs the directory. Frees `w` in every case. RECO_OK means the new file is complete and in
 * place; on any error (RECO_EIO naming `path` and the system's reason; RECO_ESTATE after an
 * earlier failure or with a section still open) the temporary file is gone and `path` holds
 * whatever it held before, or still does not exist. */
int reco__writer_commit(reco__writer *w);

/* Discards the file being written: closes and removes the temporary file, frees `w`; `path`
 * is left untouched. NULL is accepted. */
void reco__writer_abort(reco__writer *w);

/* ---- Reader --------------------------------------------------------------------------------
 * reco__reader_open() verifies everything listed under "Order of checks" above before it
 * returns RECO_OK; afterwards a section read can fail only for a request that does not match
 * the file (missing section, wrong type or count) or an I/O error. */
typedef struct reco__reader reco__reader;

/* Opens and verifies `path`, accepting format versions `min_version..max_version` of files
 * with `magic`. On success `*out` is the reader and `*version_out` (may be NULL) the file's
 * version; on failure `*out` is NULL. Errors: RECO_EINVAL (NULL argument, min > max),
 * RECO_EIO (cannot open or read; message names `path`), RECO_EFORMAT, RECO_EVERSION (see the
 * table above), RECO_ENOMEM. */
int reco__reader_open(reco__reader **out, const reco_allocator *a, const char *path,
                      const char magic[8], uint32_t min_version, uint32_t max_version,
                      uint32_t *version_out);

/* Copies section `name` into `dst`, which must hold `count` elements of `type`. The section
 * must exist and have exactly that type and count. Errors: RECO_EINVAL (NULL argument, `dst`
 * NULL with `count` > 0), RECO_EFORMAT ("section \"params\" missing", "section \"params\" has
 * type u8, expected f32", "section \"params\" has 1000 f32 values, expected 1024", "file
 * changed since it was opened"), RECO_EIO. */
int reco__reader_section(reco__reader *r, const char *name, uint32_t type, void *dst,
                         uint64_t count);

/* The type and element count of section `name`; either output may be NULL. RECO_EFORMAT
 * "section \"name\" missing" when there is none. */
int reco__reader_section_info(reco__reader *r, const char *name, uint32_t *type_out,
                              uint64_t *count_out);

/* Element count of section `name`, which must have `type` (RECO_EFORMAT naming the
 * section otherwise; `path` is the file, for the message). */
int reco__reader_section_count(uint64_t *count_out, reco__reader *r, const char *path,
                               const char *name, uint32_t type);

/* Reads the bytes section `section` (names joined by '\n', at most `cap - 1` bytes) into
 * `buf` and compares it with `expected`; a difference is RECO_EFORMAT naming `what` (in the
 * message, "the file's <what> are ..., the <owner>'s are ...") and `field`. Both strings are
 * left with ',' for '\n'. */
int reco__reader_check_names(reco__reader *r, const char *path, const char *section, char *buf,
                             size_t cap, char *expected, const char *what, const char *owner,
                             const char *field);

/* 1 when the file has section `name`, else 0; records no error. For optional sections added
 * by later format versions. */
int reco__reader_has_section(const reco__reader *r, const char *name);

/* Closes the file and frees the reader; NULL is accepted. */
void reco__reader_close(reco__reader *r);

/* ---- Plain files written atomically ----------------------------------------------------
 * For text files (YAML configurations, CSV logs) that need the container's discipline without
 * its format: the bytes go to a temporary file next to `path`, and reco__atomic_commit()
 * fsyncs it, renames it over `path` and fsyncs the directory (best effort). Any failure
 * removes the temporary file and leaves `path` as it was.
 *     reco__atomic_file f;
 *     int rc = reco__atomic_open(&f, alloc, path);
 *     if (rc < 0)
 *         return rc;
 *     int err = reco__write_all(f.fd, text, len);   (an errno value, 0 on success)
 *     return reco__atomic_commit(&f, err, "cannot write the configuration");
 */
typedef struct reco__atomic_file {
    int fd;              /* the temporary file, open for writing */
    char *tmp_path;      /* its name, from `alloc` */
    const char *path;    /* the target; borrowed until commit or abort */
    reco_allocator alloc;
} reco__atomic_file;

/* Creates the temporary file. Errors: RECO_EINVAL (NULL or empty path), RECO_ENOMEM, RECO_EIO
 * ("path: cannot create a temporary file next to it: <reason>"); on error nothing is left to
 * clean up. */
int reco__atomic_open(reco__atomic_file *f, const reco_allocator *a, const char *path);

/* Finishes the file: `write_err` is the first errno of the caller's writes (0 if none). Makes
 * the file durable and renames it over the target, or, on any error, removes it and returns
 * RECO_EIO with "path: <what>: <reason>". Releases `f` in every case. */
int reco__atomic_commit(reco__atomic_file *f, int write_err, const char *what);

/* Removes the temporary file and releases `f`; the target is untouched. */
void reco__atomic_abort(reco__atomic_file *f);

/* Writes all `n` bytes to `fd`, retrying after EINTR. Returns 0 or an errno value. */
int reco__write_all(int fd, const void *data, size_t n);

#endif /* RECO_FILE_PRIVATE_H */
