/* The binary container (format and guarantees in file_private.h): CRC-32C, a streaming
 * writer that commits by rename, and a streaming reader that verifies a whole file before
 * handing out any of it.
 *
 * Memory: a writer is one block (struct, 64 KiB buffer, path names) plus a growing table of
 * section names; a reader is one block plus its section table, and borrows a 256 KiB scan
 * buffer during open only. Everything comes from the caller's allocator. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc_private.h"
#include "error_private.h"
#include "file_private.h"

/* Arrays go to the file as they lie in memory, and header fields are copied with memcpy. */
#if !defined(__BYTE_ORDER__) || !defined(__ORDER_LITTLE_ENDIAN__)
#error "file.c needs the compiler's __BYTE_ORDER__ to check that the host is little-endian"
#elif __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the libreco file container stores data little-endian and needs a little-endian host"
#endif

#define WRITE_BUFFER ((size_t)64 * 1024)
#define READ_BUFFER ((size_t)256 * 1024)
#define MIN_FILE (RECO__FILE_HEADER_SIZE + RECO__FILE_TRAILER_SIZE)
#define END_MARK "REND"
#define NAME_BYTES 16

/* ---- CRC-32C ------------------------------------------------------------------------------ */

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, bit-reflected */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* x86-64's SSE4.2 crc32 instruction computes CRC-32C itself, 8 bytes per instruction: about
 * five times the tables' speed. It matters since the trainer checksums every weight snapshot
 * it publishes and every generator checks it (reco/wire.h). Chosen at run time, once. */
#if defined(__x86_64__) && defined(__GNUC__)
#define RECO_CRC_HW 1
#include <nmmintrin.h>
static int crc_hw_ok;

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                          size_t n)
{
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n-- > 0)
        c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
#endif

/* Slice-by-8 (Kounavis and Berry, Intel 2005): table k maps a byte to its CRC contribution
 * k bytes further from the end of an 8-byte block, so one block costs 8 lookups, not 8 shift
 * loops. Built at run time (2048 entries are too many to keep legible in source) and once
 * per process under pthread_once, so concurrent first calls are safe. */
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = crc_table[0][i];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xffu] ^ (c >> 8);
            crc_table[t][i] = c;
        }
    }
#ifdef RECO_CRC_HW
    __builtin_cpu_init();
    crc_hw_ok = __builtin_cpu_supports("sse4.2") != 0;
#endif
}

uint32_t reco__crc32c(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    const unsigned char *p = data;
#ifdef RECO_CRC_HW
    if (crc_hw_ok)
        return crc_hw(crc, p, n);
#endif
    const uint32_t(*t)[256] = (const uint32_t(*)[256])crc_table;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
        lo ^= crc;
        crc = t[7][lo & 0xffu] ^ t[6][(lo >> 8) & 0xffu] ^ t[5][(lo >> 16) & 0xffu] ^
              t[4][lo >> 24] ^ t[3][hi & 0xffu] ^ t[2][(hi >> 8) & 0xffu] ^
              t[1][(hi >> 16) & 0xffu] ^ t[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        crc = t[0][(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* ---- shared helpers ----------------------------------------------------------------------- */

size_t reco__file_type_size(uint32_t type)
{
    switch (type) {
    case RECO__FILE_U8:
    case RECO__FILE_BYTES:
        return 1;
    case RECO__FILE_I32:
    case RECO__FILE_U32:
    case RECO__FILE_F32:
        return 4;
    case RECO__FILE_U64:
    case RECO__FILE_F64:
    case RECO__FILE_I64:
        return 8;
    default:
        return 0;
    }
}

const char *reco__file_type_name(uint32_t type)
{
    static const char *const names[] = {NULL,  "u8",  "i32",   "u32", "u64",
                                        "f32", "f64", "bytes", "i64"};
    if (type == 0 || type >= sizeof names / sizeof names[0])
        return "unknown";
    return names[type];
}

static void put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int io_error(const char *path, const char *what, int err)
{
    char msg[256];
    if (strerror_r(err, msg, sizeof msg) != 0)
        snprintf(msg, sizeof msg, "error %d", err);
    return reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "%s: %s", what, msg);
}

/* The on-disk form of a section name: 1..15 bytes in '!'..'~', NUL-padded to 16. Returns 0,
 * or -1 for a name that cannot be stored. */
static int name_pack(char out[NAME_BYTES], const char *name)
{
    memset(out, 0, NAME_BYTES);
    size_t n = 0;
    for (; name[n] != '\0'; n++) {
        unsigned char c = (unsigned char)name[n];
        if (n == RECO__FILE_NAME_MAX || c < 0x21 || c > 0x7e)
            return -1;
        out[n] = (char)c;
    }
    return n == 0 ? -1 : 0;
}

/* A name read from a file: what name_pack() produces and nothing else, so that it can be
 * printed and compared as a C string. */
static int name_valid(const char name[NAME_BYTES])
{
    size_t n = 0;
    while (n < NAME_BYTES && name[n] != '\0') {
        unsigned char c = (unsigned char)name[n];
        if (c < 0x21 || c > 0x7e)
            return 0;
        n++;
    }
    if (n == 0 || n > RECO__FILE_NAME_MAX)
        return 0;
    for (; n < NAME_BYTES; n++)
        if (name[n] != '\0')
            return 0;
    return 1;
}

static int write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int pwrite_all(int fd, const void *data, size_t n, uint64_t offset)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)offset);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        if (w == 0)
            return EIO;
        p += w;
        n -= (size_t)w;
        offset += (uint64_t)w;
    }
    return 0;
}

/* Reads up to `n` bytes at `offset`; stores the count read (short only at end of file) and
 * returns 0, or returns errno. */
static int pread_full(int fd, void *data, size_t n, uint64_t offset, size_t *got)
{
    unsigned char *p = data;
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, p + done, n - done, (off_t)(offset + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    *got = done;
    return 0;
}

/* ---- writer ------------------------------------------------------------------------------- */

struct reco__writer {
    reco_allocator alloc;
    const char *path; /* path and tmp_path live in this block, after the struct */
    char *tmp_path;   /* mutable: commit reuses it for the directory name */
    int fd;
    int failed;     /* sticky: set by any failed call, see file_private.h */
    int in_section; /* between section_begin and section_end */
    char magic[RECO__FILE_MAGIC_SIZE];
    uint32_t version;
    uint32_t n_sections;
    uint64_t offset; /* bytes of the file produced so far, buffered ones included */
    uint32_t crc;    /* body_crc of bytes 32 .. offset-1 */
    char sec_name[NAME_BYTES];
    size_t sec_elem;
    uint64_t sec_count;        /* elements declared by section_begin */
    uint64_t sec_left;         /* elements still expected */
    char (*names)[NAME_BYTES]; /* every section begun so far, for the duplicate check */
    uint32_t names_cap;
    size_t buf_len;
    unsigned char buf[WRITE_BUFFER];
};

static int writer_fail(reco__writer *w, int rc)
{
    w->failed = 1;
    return rc;
}

static int writer_flush(reco__writer *w)
{
    int err = write_all(w->fd, w->buf, w->buf_len);
    if (err != 0)
        return io_error(w->path, "cannot write the temporary file", err);
    w->buf_len = 0;
    return RECO_OK;
}

/* Appends bytes to the file without hashing them (the header placeholder and body_crc). */
static int emit_raw(reco__writer *w, const void *data, size_t n)
{
    if (n == 0) /* empty sections pass data == NULL, which memcpy may not receive */
        return RECO_OK;
    if (n > WRITE_BUFFER - w->buf_len) {
        int rc = writer_flush(w);
        if (rc < 0)
            return rc;
        if (n >= WRITE_BUFFER) {
            /* Large pieces skip the copy: the point of streaming is hundreds of MB. */
            int err = write_all(w->fd, data, n);
            if (err != 0)
                return io_error(w->path, "cannot write the temporary file", err);
            w->offset += n;
            return RECO_OK;
        }
    }
    memcpy(w->buf + w->buf_len, data, n);
    w->buf_len += n;
    w->offset += n;
    return RECO_OK;
}

static int emit(reco__writer *w, const void *data, size_t n)
{
    w->crc = reco__crc32c(w->crc, data, n);
    return emit_raw(w, data, n);
}

/* Rejects calls on a writer that failed or is in the wrong phase. */
static int writer_check(reco__writer *w, const char *what, int want_section)
{
    if (w->failed)
        return reco__error_set_at(RECO_ESTATE, w->path, 0, 0, NULL,
                                  "%s: an earlier call failed, so the file cannot be committed",
                                  what);
    if (want_section && !w->in_section)
        return writer_fail(w, reco__error_set_at(RECO_ESTATE, w->path, 0, 0, NULL,
                                                 "%s: no section is open", what));
    if (!want_section && w->in_section)
        return writer_fail(w, reco__error_set_at(RECO_ESTATE, w->path, 0, 0, NULL,
                                                 "%s: section \"%s\" is still open", what,
                                                 w->sec_name));
    return RECO_OK;
}

int reco__writer_open(reco__writer **out, const reco_allocator *a, const char *path,
                      const char magic[8], uint32_t version)
{
    static atomic_uint temp_counter;
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco__writer_open: out is NULL");
    *out = NULL;
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "reco__writer_open: path is NULL");
    if (magic == NULL)
        return reco__error_set(RECO_EINVAL, "reco__writer_open: magic is NULL");
    size_t plen = strlen(path);
    if (plen == 0 || path[plen - 1] == '/')
        return reco__error_set(RECO_EINVAL, "reco__writer_open: path \"%s\" names no file", path);
    reco_allocator alloc;
    int rc = reco__allocator_resolve(&alloc, a);
    if (rc < 0)
        return rc;

    /* Room for path + ".tmp-<pid>-<counter>" (at most 1 + 3 + 1 + 20 + 1 + 10 + NUL). */
    size_t tmp_cap = plen + 48, size;
    if (reco__size_add(&size, sizeof(reco__writer), plen + 1) < 0 ||
        reco__size_add(&size, size, tmp_cap) < 0)
        return RECO_ENOMEM;
    reco__writer *w = reco__alloc(&alloc, size, 0);
    if (w == NULL)
        return RECO_ENOMEM;
    memset(w, 0, offsetof(reco__writer, buf));
    w->alloc = alloc;
    char *strings = (char *)(w + 1);
    memcpy(strings, path, plen + 1);
    w->path = strings;
    w->tmp_path = strings + plen + 1;
    memcpy(w->magic, magic, RECO__FILE_MAGIC_SIZE);
    w->version = version;

    /* O_EXCL with a fresh name rather than mkstemp(), whose mode 0600 would make every
     * checkpoint private regardless of the umask (same scheme as reco_config_write_file). */
    w->fd = -1;
    for (int attempt = 0; attempt < 100 && w->fd < 0; attempt++) {
        snprintf(w->tmp_path, tmp_cap, "%s.tmp-%ld-%u", path, (long)getpid(),
                 atomic_fetch_add(&temp_counter, 1u));
        w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (w->fd < 0 && errno != EEXIST)
            break;
    }
    if (w->fd < 0) {
        rc = io_error(path, "cannot create a temporary file next to it", errno);
        reco__free(&alloc, w);
        return rc;
    }
    /* Header placeholder, patched by commit once length and section count are known. */
    memset(w->buf, 0, RECO__FILE_HEADER_SIZE);
    w->buf_len = RECO__FILE_HEADER_SIZE;
    w->offset = RECO__FILE_HEADER_SIZE;
    *out = w;
    return RECO_OK;
}

int reco__writer_section_begin(reco__writer *w, const char *name, uint32_t type, uint64_t count)
{
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "reco__writer_section_begin: w is NULL");
    int rc = writer_check(w, "reco__writer_section_begin", 0);
    if (rc < 0)
        return rc;
    char packed[NAME_BYTES];
    if (name == NULL || name_pack(packed, name) < 0)
        return writer_fail(w,
                           reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                              "invalid section name \"%.32s\" (1 to %d "
                                              "characters in '!'..'~')",
                                              name != NULL ? name : "(null)", RECO__FILE_NAME_MAX));
    size_t elem = reco__file_type_size(type);
    if (elem == 0)
        return writer_fail(w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                                 "section \"%s\": unknown element type %" PRIu32,
                                                 packed, type));
    /* The byte size must fit the file's u64 and an off_t, whatever the host's size_t. */
    if (count > (uint64_t)INT64_MAX / elem)
        return writer_fail(w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                                 "section \"%s\": %" PRIu64 " %s values are "
                                                 "too many for a file",
                                                 packed, count, reco__file_type_name(type)));
    /* A linear scan: files hold tens of sections, not thousands. */
    for (uint32_t i = 0; i < w->n_sections; i++)
        if (memcmp(w->names[i], packed, NAME_BYTES) == 0)
            return writer_fail(w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                                     "duplicate section \"%s\"", packed));
    if (w->n_sections == UINT32_MAX)
        return writer_fail(
            w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL, "too many sections"));
    if (w->n_sections == w->names_cap) {
        uint32_t cap = w->names_cap == 0               ? 16
                       : w->names_cap > UINT32_MAX / 2 ? UINT32_MAX
                                                       : w->names_cap * 2;
        char(*names)[NAME_BYTES] = reco__calloc(&w->alloc, cap, NAME_BYTES);
        if (names == NULL)
            return writer_fail(w, RECO_ENOMEM);
        if (w->n_sections > 0)
            memcpy(names, w->names, (size_t)w->n_sections * NAME_BYTES);
        reco__free(&w->alloc, w->names);
        w->names = names;
        w->names_cap = cap;
    }

    unsigned char head[RECO__FILE_SECTION_HEADER_SIZE];
    memcpy(head, packed, NAME_BYTES);
    put_u32(head + 16, type);
    put_u32(head + 20, 0);
    put_u64(head + 24, count);
    rc = emit(w, head, sizeof head);
    if (rc < 0)
        return writer_fail(w, rc);
    memcpy(w->names[w->n_sections++], packed, NAME_BYTES);
    memcpy(w->sec_name, packed, NAME_BYTES);
    w->sec_elem = elem;
    w->sec_count = count;
    w->sec_left = count;
    w->in_section = 1;
    return RECO_OK;
}

int reco__writer_section_append(reco__writer *w, const void *data, uint64_t count)
{
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "reco__writer_section_append: w is NULL");
    int rc = writer_check(w, "reco__writer_section_append", 1);
    if (rc < 0)
        return rc;
    if (count > w->sec_left)
        return writer_fail(w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                                 "section \"%s\": %" PRIu64 " more elements "
                                                 "would exceed the declared %" PRIu64,
                                                 w->sec_name, count, w->sec_count));
    if (count > 0 && data == NULL)
        return writer_fail(w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                                 "section \"%s\": data is NULL", w->sec_name));
    /* count * elem fits INT64_MAX (checked by begin); it must also fit this host's size_t. */
    uint64_t bytes = count * w->sec_elem;
    if (bytes > SIZE_MAX)
        return writer_fail(w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                                 "section \"%s\": %" PRIu64 " bytes in one "
                                                 "piece exceed size_t",
                                                 w->sec_name, bytes));
    rc = emit(w, data, (size_t)bytes);
    if (rc < 0)
        return writer_fail(w, rc);
    w->sec_left -= count;
    return RECO_OK;
}

int reco__writer_section_end(reco__writer *w)
{
    static const unsigned char zeros[8];
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "reco__writer_section_end: w is NULL");
    int rc = writer_check(w, "reco__writer_section_end", 1);
    if (rc < 0)
        return rc;
    if (w->sec_left != 0)
        return writer_fail(w, reco__error_set_at(RECO_EINVAL, w->path, 0, 0, NULL,
                                                 "section \"%s\" ended after %" PRIu64 " of "
                                                 "its %" PRIu64 " elements",
                                                 w->sec_name, w->sec_count - w->sec_left,
                                                 w->sec_count));
    size_t pad = (size_t)((8 - (w->sec_count * w->sec_elem) % 8) % 8);
    rc = emit(w, zeros, pad);
    if (rc < 0)
        return writer_fail(w, rc);
    w->in_section = 0;
    return RECO_OK;
}

int reco__writer_section(reco__writer *w, const char *name, uint32_t type, const void *data,
                         uint64_t count)
{
    int rc = reco__writer_section_begin(w, name, type, count);
    if (rc == RECO_OK)
        rc = reco__writer_section_append(w, data, count);
    if (rc == RECO_OK)
        rc = reco__writer_section_end(w);
    return rc;
}

static void writer_free(reco__writer *w, int remove_temp)
{
    if (w->fd >= 0)
        close(w->fd);
    if (remove_temp)
        unlink(w->tmp_path);
    reco_allocator alloc = w->alloc;
    reco__free(&alloc, w->names);
    reco__free(&alloc, w);
}

/* Best effort: makes the rename itself durable. A failure here cannot be undone and the new
 * file is already complete, so it is not reported (as in reco_config_write_file). `scratch`
 * holds at least strlen(path) + 1 bytes. */
static void sync_parent_dir(char *scratch, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(scratch, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(scratch, path, n);
        scratch[n] = '\0';
    }
    int fd = open(scratch, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int reco__writer_commit(reco__writer *w)
{
    if (w == NULL)
        return reco__error_set(RECO_EINVAL, "reco__writer_commit: w is NULL");
    int renamed = 0, err = 0;
    int rc = writer_check(w, "reco__writer_commit", 0);
    if (rc < 0)
        goto cleanup;

    rc = emit(w, END_MARK, 4);
    if (rc == RECO_OK) {
        unsigned char crc[4];
        put_u32(crc, w->crc);
        rc = emit_raw(w, crc, sizeof crc);
    }
    if (rc == RECO_OK)
        rc = writer_flush(w);
    if (rc < 0)
        goto cleanup;

    unsigned char head[RECO__FILE_HEADER_SIZE];
    memcpy(head, w->magic, RECO__FILE_MAGIC_SIZE);
    put_u32(head + 8, w->version);
    put_u32(head + 12, 0);
    put_u64(head + 16, w->offset);
    put_u32(head + 24, w->n_sections);
    put_u32(head + 28, reco__crc32c(0, head, 28));
    err = pwrite_all(w->fd, head, sizeof head, 0);
    if (err != 0) {
        rc = io_error(w->path, "cannot write the temporary file", err);
        goto cleanup;
    }
    if (fsync(w->fd) != 0) {
        rc = io_error(w->path, "cannot sync the temporary file", errno);
        goto cleanup;
    }
    /* close() can report a deferred write error (NFS), so it is checked like a write. */
    err = close(w->fd) != 0 ? errno : 0;
    w->fd = -1;
    if (err != 0) {
        rc = io_error(w->path, "cannot close the temporary file", err);
        goto cleanup;
    }
    if (rename(w->tmp_path, w->path) != 0) {
        rc = io_error(w->path, "cannot rename the temporary file onto it", errno);
        goto cleanup;
    }
    renamed = 1;
    sync_parent_dir(w->tmp_path, w->path);
    rc = RECO_OK;
cleanup:
    writer_free(w, !renamed);
    return rc;
}

void reco__writer_abort(reco__writer *w)
{
    if (w != NULL)
        writer_free(w, 1);
}

/* ---- reader ------------------------------------------------------------------------------- */

typedef struct section_entry {
    char name[NAME_BYTES]; /* validated: a NUL-terminated printable name */
    uint32_t type;
    uint64_t count;
    uint64_t offset; /* of the data */
} section_entry;

struct reco__reader {
    reco_allocator alloc;
    const char *path; /* in this block, after the struct */
    int fd;
    uint32_t version;
    uint64_t length;
    uint32_t n_sections;
    section_entry *sections; /* sorted by name */
    /* The file as verified by open; section reads refuse a file that no longer matches. */
    off_t file_size;
    struct timespec file_mtime;
};

/* Pass 1 of the reader: every byte of [32, end) goes through `buf` exactly once, hashed as it
 * is loaded, while the section table is parsed from the same stream. */
typedef struct scanner {
    int fd;
    const char *path;
    unsigned char *buf;
    size_t cap, pos, len;
    uint64_t next; /* file offset of the next load */
    uint64_t end;
    uint32_t crc;
} scanner;

static uint64_t scan_offset(const scanner *s)
{
    return s->next - (s->len - s->pos);
}

static int scan_fill(scanner *s)
{
    uint64_t left = s->end - s->next;
    size_t want = left < s->cap ? (size_t)left : s->cap, got;
    int err = pread_full(s->fd, s->buf, want, s->next, &got);
    if (err != 0)
        return io_error(s->path, "cannot read the file", err);
    /* Sizes were checked against fstat, so a short read means the file shrank under us. */
    if (want == 0 || got < want)
        return reco__error_set_at(RECO_EFORMAT, s->path, 0, 0, NULL,
                                  "file changed while being read");
    s->crc = reco__crc32c(s->crc, s->buf, got);
    s->pos = 0;
    s->len = got;
    s->next += got;
    return RECO_OK;
}

/* Consumes `n` bytes, copying them to `dst` unless it is NULL. Callers never ask for bytes
 * past `end`. */
static int scan_take(scanner *s, void *dst, uint64_t n)
{
    unsigned char *d = dst;
    while (n > 0) {
        if (s->pos == s->len) {
            int rc = scan_fill(s);
            if (rc < 0)
                return rc;
        }
        size_t k = s->len - s->pos;
        if (n < k)
            k = (size_t)n;
        if (d != NULL) {
            memcpy(d, s->buf + s->pos, k);
            d += k;
        }
        s->pos += k;
        n -= k;
    }
    return RECO_OK;
}

/* Parses and hashes the body. A malformed table may just be a damaged file, so the first
 * structural problem is recorded but the scan still hashes up to body_crc: a mismatch then
 * reports "checksum mismatch" instead, and the structural message is kept for files whose
 * checksum is right (a writer bug or a crafted file). */
static int scan_body(reco__reader *r, unsigned char *buf, size_t cap)
{
    scanner s = {r->fd, r->path, buf, cap, 0, 0, RECO__FILE_HEADER_SIZE, r->length - 4, 0};
    const uint64_t data_end = r->length - RECO__FILE_TRAILER_SIZE;
    const char *p = r->path;
    int bad = RECO_OK, rc;
    uint64_t pos = RECO__FILE_HEADER_SIZE;
    for (uint32_t i = 0; i < r->n_sections; i++) {
        if (data_end - pos < RECO__FILE_SECTION_HEADER_SIZE) {
            bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                     "section %" PRIu32 " of %" PRIu32 " starts past the "
                                     "last one",
                                     i + 1, r->n_sections);
            break;
        }
        unsigned char head[RECO__FILE_SECTION_HEADER_SIZE];
        rc = scan_take(&s, head, sizeof head);
        if (rc < 0)
            return rc;
        pos += sizeof head;
        section_entry *e = &r->sections[i];
        memcpy(e->name, head, NAME_BYTES);
        e->type = get_u32(head + 16);
        e->count = get_u64(head + 24);
        e->offset = pos;
        uint32_t reserved = get_u32(head + 20);
        size_t elem = reco__file_type_size(e->type);
        uint64_t room = data_end - pos;
        if (!name_valid(e->name)) {
            bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                     "section %" PRIu32 " has an invalid name", i + 1);
            break;
        }
        if (elem == 0) {
            bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                     "section \"%s\" has unknown element type %" PRIu32, e->name,
                                     e->type);
            break;
        }
        if (reserved != 0) {
            bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                     "section \"%s\": reserved field is %" PRIu32 ", not 0",
                                     e->name, reserved);
            break;
        }
        /* Division first: count * elem may overflow; room is a multiple of 8. */
        uint64_t bytes = e->count * elem, pad = (8 - bytes % 8) % 8;
        if (e->count > room / elem || bytes + pad > room) {
            bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                     "section \"%s\": %" PRIu64 " %s values run past the end "
                                     "of the file",
                                     e->name, e->count, reco__file_type_name(e->type));
            break;
        }
        unsigned char padding[8] = {0};
        rc = scan_take(&s, NULL, bytes);
        if (rc == RECO_OK)
            rc = scan_take(&s, padding, pad);
        if (rc < 0)
            return rc;
        pos += bytes + pad;
        if (memcmp(padding, "\0\0\0\0\0\0\0\0", 8) != 0) {
            bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                     "section \"%s\": padding is not zero", e->name);
            break;
        }
    }
    unsigned char mark[4];
    if (bad == RECO_OK && pos != data_end)
        bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                 "%" PRIu64 " bytes after the last of %" PRIu32 " sections",
                                 data_end - pos, r->n_sections);
    if (bad == RECO_OK) {
        rc = scan_take(&s, mark, 4);
        if (rc < 0)
            return rc;
        if (memcmp(mark, END_MARK, 4) != 0)
            bad = reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                     "end marker \"" END_MARK "\" missing");
    } else {
        rc = scan_take(&s, NULL, s.end - scan_offset(&s));
        if (rc < 0)
            return rc;
    }

    unsigned char stored[4];
    size_t got;
    int err = pread_full(r->fd, stored, 4, r->length - 4, &got);
    if (err != 0)
        return io_error(p, "cannot read the file", err);
    if (got < 4)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL, "file changed while being read");
    if (get_u32(stored) != s.crc)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "checksum mismatch (file corrupted)");
    return bad;
}

static int entry_cmp(const void *a, const void *b)
{
    return memcmp(((const section_entry *)a)->name, ((const section_entry *)b)->name, NAME_BYTES);
}

/* Prints a magic for messages: its printable bytes, '?' for the others. */
static void magic_text(char out[RECO__FILE_MAGIC_SIZE + 1], const char *magic)
{
    for (int i = 0; i < RECO__FILE_MAGIC_SIZE; i++) {
        unsigned char c = (unsigned char)magic[i];
        out[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
    }
    out[RECO__FILE_MAGIC_SIZE] = '\0';
}

/* The header checks, in the order documented in file_private.h. `got` bytes of `head` were
 * read from a file of `size` bytes. */
static int check_header(reco__reader *r, const unsigned char *head, size_t got, uint64_t size,
                        const char magic[8], uint32_t min_version, uint32_t max_version)
{
    const char *p = r->path;
    char mtext[RECO__FILE_MAGIC_SIZE + 1];
    magic_text(mtext, magic);
    size_t cmp = got < RECO__FILE_MAGIC_SIZE ? got : RECO__FILE_MAGIC_SIZE;
    if (memcmp(head, magic, cmp) != 0)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL, "not a %s file", mtext);
    if (size < MIN_FILE)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "truncated: expected at least %d bytes, file has %" PRIu64,
                                  MIN_FILE, size);
    if (get_u32(head + 28) != reco__crc32c(0, head, 28))
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "header checksum mismatch (file corrupted)");
    uint32_t flags = get_u32(head + 12);
    if (flags != 0)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "unsupported container flags 0x%" PRIx32, flags);
    uint64_t length = get_u64(head + 16);
    if (length < MIN_FILE || length % 8 != 0)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "invalid length %" PRIu64 " in the header", length);
    uint32_t version = get_u32(head + 8);
    if (version < min_version || version > max_version)
        return reco__error_set_at(RECO_EVERSION, p, 0, 0, NULL,
                                  "format version %" PRIu32 " not supported (%" PRIu32 "..%" PRIu32
                                  ")",
                                  version, min_version, max_version);
    if (length > size)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "truncated: expected %" PRIu64 " bytes, file has %" PRIu64,
                                  length, size);
    if (length < size)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "trailing data: expected %" PRIu64 " bytes, file has %" PRIu64,
                                  length, size);
    uint32_t n = get_u32(head + 24);
    if (n > (length - MIN_FILE) / RECO__FILE_SECTION_HEADER_SIZE)
        return reco__error_set_at(RECO_EFORMAT, p, 0, 0, NULL,
                                  "header claims %" PRIu32 " sections; %" PRIu64 " bytes hold "
                                  "at most %" PRIu64,
                                  n, length, (length - MIN_FILE) / RECO__FILE_SECTION_HEADER_SIZE);
    r->version = version;
    r->length = length;
    r->n_sections = n;
    return RECO_OK;
}

int reco__reader_open(reco__reader **out, const reco_allocator *a, const char *path,
                      const char magic[8], uint32_t min_version, uint32_t max_version,
                      uint32_t *version_out)
{
    if (out == NULL)
        return reco__error_set(RECO_EINVAL, "reco__reader_open: out is NULL");
    *out = NULL;
    if (path == NULL)
        return reco__error_set(RECO_EINVAL, "reco__reader_open: path is NULL");
    if (magic == NULL)
        return reco__error_set(RECO_EINVAL, "reco__reader_open: magic is NULL");
    if (min_version > max_version)
        return reco__error_set(RECO_EINVAL,
                               "reco__reader_open: min_version %" PRIu32 " > max_version %" PRIu32,
                               min_version, max_version);
    reco_allocator alloc;
    int rc = reco__allocator_resolve(&alloc, a);
    if (rc < 0)
        return rc;
    size_t plen = strlen(path), size;
    if (reco__size_add(&size, sizeof(reco__reader), plen + 1) < 0)
        return RECO_ENOMEM;
    reco__reader *r = reco__alloc(&alloc, size, 0);
    if (r == NULL)
        return RECO_ENOMEM;
    memset(r, 0, sizeof *r);
    r->alloc = alloc;
    memcpy((char *)(r + 1), path, plen + 1);
    r->path = (const char *)(r + 1);
    unsigned char *buf = NULL;

    /* O_NONBLOCK so that a FIFO at `path` cannot hang us before the S_ISREG check; it has
     * no effect on reading a regular file. */
    r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (r->fd < 0) {
        rc = io_error(path, "cannot open the file", errno);
        goto cleanup;
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0) {
        rc = io_error(path, "cannot stat the file", errno);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = reco__error_set_at(RECO_EIO, path, 0, 0, NULL, "not a regular file");
        goto cleanup;
    }
    r->file_size = st.st_size;
    r->file_mtime = st.st_mtim;

    unsigned char head[RECO__FILE_HEADER_SIZE];
    uint64_t fsize = (uint64_t)st.st_size;
    size_t want = fsize < sizeof head ? (size_t)fsize : sizeof head, got;
    int err = pread_full(r->fd, head, want, 0, &got);
    if (err != 0) {
        rc = io_error(path, "cannot read the file", err);
        goto cleanup;
    }
    rc = check_header(r, head, got, got < want ? got : fsize, magic, min_version, max_version);
    if (rc < 0)
        goto cleanup;

    r->sections = reco__calloc(&alloc, r->n_sections, sizeof *r->sections);
    size_t cap = r->length < READ_BUFFER ? (size_t)r->length : READ_BUFFER;
    buf = reco__alloc(&alloc, cap, 0);
    if (r->sections == NULL || buf == NULL) {
        rc = RECO_ENOMEM;
        goto cleanup;
    }
    rc = scan_body(r, buf, cap);
    if (rc < 0)
        goto cleanup;

    qsort(r->sections, r->n_sections, sizeof *r->sections, entry_cmp);
    for (uint32_t i = 1; i < r->n_sections; i++)
        if (entry_cmp(&r->sections[i - 1], &r->sections[i]) == 0) {
            rc = reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "duplicate section \"%s\"",
                                    r->sections[i].name);
            goto cleanup;
        }
    if (version_out != NULL)
        *version_out = r->version;
    *out = r;
    rc = RECO_OK;
cleanup:
    reco__free(&alloc, buf);
    if (rc < 0)
        reco__reader_close(r);
    return rc;
}

/* Looks up `name`; NULL when the file has no such section or the name is not storable. */
static const section_entry *find_section(const reco__reader *r, const char *name)
{
    section_entry key;
    if (name_pack(key.name, name) < 0)
        return NULL;
    return bsearch(&key, r->sections, r->n_sections, sizeof *r->sections, entry_cmp);
}

int reco__reader_section_info(reco__reader *r, const char *name, uint32_t *type_out,
                              uint64_t *count_out)
{
    if (r == NULL || name == NULL)
        return reco__error_set(RECO_EINVAL, "reco__reader_section_info: %s is NULL",
                               r == NULL ? "r" : "name");
    const section_entry *e = find_section(r, name);
    if (e == NULL)
        return reco__error_set_at(RECO_EFORMAT, r->path, 0, 0, NULL, "section \"%.32s\" missing",
                                  name);
    if (type_out != NULL)
        *type_out = e->type;
    if (count_out != NULL)
        *count_out = e->count;
    return RECO_OK;
}

int reco__reader_has_section(const reco__reader *r, const char *name)
{
    return r != NULL && name != NULL && find_section(r, name) != NULL;
}

int reco__reader_section(reco__reader *r, const char *name, uint32_t type, void *dst,
                         uint64_t count)
{
    if (r == NULL || name == NULL)
        return reco__error_set(RECO_EINVAL, "reco__reader_section: %s is NULL",
                               r == NULL ? "r" : "name");
    if (dst == NULL && count > 0)
        return reco__error_set(RECO_EINVAL, "reco__reader_section: dst is NULL");
    size_t elem = reco__file_type_size(type);
    if (elem == 0)
        return reco__error_set(RECO_EINVAL, "reco__reader_section: unknown element type %" PRIu32,
                               type);
    const section_entry *e = find_section(r, name);
    if (e == NULL)
        return reco__error_set_at(RECO_EFORMAT, r->path, 0, 0, NULL, "section \"%.32s\" missing",
                                  name);
    if (e->type != type)
        return reco__error_set_at(RECO_EFORMAT, r->path, 0, 0, NULL,
                                  "section \"%s\" has type %s, expected %s", e->name,
                                  reco__file_type_name(e->type), reco__file_type_name(type));
    if (e->count != count) {
        if (type == RECO__FILE_BYTES)
            return reco__error_set_at(RECO_EFORMAT, r->path, 0, 0, NULL,
                                      "section \"%s\" has %" PRIu64 " bytes, expected %" PRIu64,
                                      e->name, e->count, count);
        return reco__error_set_at(RECO_EFORMAT, r->path, 0, 0, NULL,
                                  "section \"%s\" has %" PRIu64 " %s values, expected %" PRIu64,
                                  e->name, e->count, reco__file_type_name(type), count);
    }
    /* Open checked count * elem against the file size, so it cannot overflow. */
    uint64_t bytes = count * elem;
    if (bytes > SIZE_MAX)
        return reco__error_set_at(RECO_ENOMEM, r->path, 0, 0, NULL,
                                  "section \"%s\": %" PRIu64 " bytes exceed size_t", e->name,
                                  bytes);
    struct stat st;
    if (fstat(r->fd, &st) != 0)
        return io_error(r->path, "cannot stat the file", errno);
    if (st.st_size != r->file_size || st.st_mtim.tv_sec != r->file_mtime.tv_sec ||
        st.st_mtim.tv_nsec != r->file_mtime.tv_nsec)
        return reco__error_set_at(RECO_EFORMAT, r->path, 0, 0, NULL,
                                  "file changed since it was opened");
    size_t got;
    int err = pread_full(r->fd, dst, (size_t)bytes, e->offset, &got);
    if (err != 0)
        return io_error(r->path, "cannot read the file", err);
    if (got < bytes)
        return reco__error_set_at(RECO_EFORMAT, r->path, 0, 0, NULL,
                                  "file changed since it was opened");
    return RECO_OK;
}

void reco__reader_close(reco__reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    reco_allocator alloc = r->alloc;
    reco__free(&alloc, r->sections);
    reco__free(&alloc, r);
}

/* ---- plain files written atomically ---------------------------------------------------- */

int reco__write_all(int fd, const void *data, size_t n)
{
    return write_all(fd, data, n);
}

int reco__atomic_open(reco__atomic_file *f, const reco_allocator *a, const char *path)
{
    static atomic_uint temp_counter;
    if (f == NULL || path == NULL || path[0] == '\0')
        return reco__error_set(RECO_EINVAL, "reco__atomic_open: NULL or empty path");
    f->fd = -1;
    f->path = path;
    int rc = reco__allocator_resolve(&f->alloc, a);
    if (rc < 0)
        return rc;
    /* Room for path + ".tmp-<pid>-<counter>"; also reused for the directory's name. */
    const size_t cap = strlen(path) + 48;
    f->tmp_path = reco__alloc(&f->alloc, cap, 1);
    if (f->tmp_path == NULL)
        return RECO_ENOMEM;
    for (int attempt = 0; attempt < 100 && f->fd < 0; attempt++) {
        snprintf(f->tmp_path, cap, "%s.tmp-%ld-%u", path, (long)getpid(),
                 atomic_fetch_add(&temp_counter, 1u));
        f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd < 0 && errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        rc = io_error(path, "cannot create a temporary file next to it", errno);
        reco__free(&f->alloc, f->tmp_path);
        f->tmp_path = NULL;
        return rc;
    }
    return RECO_OK;
}

int reco__atomic_commit(reco__atomic_file *f, int write_err, const char *what)
{
    int err = write_err;
    if (err == 0 && fsync(f->fd) != 0)
        err = errno;
    if (close(f->fd) != 0 && err == 0)
        err = errno;
    f->fd = -1;
    if (err == 0 && rename(f->tmp_path, f->path) != 0)
        err = errno;
    int rc = RECO_OK;
    if (err != 0) {
        unlink(f->tmp_path);
        rc = io_error(f->path, what, err);
    } else {
        sync_parent_dir(f->tmp_path, f->path);
    }
    reco__free(&f->alloc, f->tmp_path);
    f->tmp_path = NULL;
    return rc;
}

void reco__atomic_abort(reco__atomic_file *f)
{
    if (f == NULL || f->tmp_path == NULL)
        return;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    unlink(f->tmp_path);
    reco__free(&f->alloc, f->tmp_path);
    f->tmp_path = NULL;
}

int reco__reader_section_count(uint64_t *count_out, reco__reader *r, const char *path,
                               const char *name, uint32_t type)
{
    uint32_t t = 0;
    int rc = reco__reader_section_info(r, name, &t, count_out);
    if (rc < 0)
        return rc;
    if (t != type)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, NULL, "section \"%s\" has type %s, "
                                  "expected %s", name, reco__file_type_name(t),
                                  reco__file_type_name(type));
    return RECO_OK;
}

int reco__reader_check_names(reco__reader *r, const char *path, const char *section, char *buf,
                             size_t cap, char *expected, const char *what, const char *owner,
                             const char *field)
{
    uint64_t n;
    int rc = reco__reader_section_count(&n, r, path, section, RECO__FILE_BYTES);
    if (rc < 0)
        return rc;
    if (n >= cap)
        return reco__error_set_at(RECO_EFORMAT, path, 0, 0, field, "section \"%s\" is too long "
                                  "(%llu bytes)", section, (unsigned long long)n);
    if ((rc = reco__reader_section(r, section, RECO__FILE_BYTES, buf, n)) < 0)
        return rc;
    buf[n] = '\0';
    if (strlen(buf) == n && strcmp(buf, expected) == 0)
        return RECO_OK;
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ',';
    for (char *p = expected; *p; p++)
        if (*p == '\n')
            *p = ',';
    return reco__error_set_at(RECO_EFORMAT, path, 0, 0, field, "the file's %s are \"%.200s\", "
                              "the %s's are \"%.200s\"", what, buf, owner, expected);
}
