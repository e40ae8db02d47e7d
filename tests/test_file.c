/* The binary file container (lib/file.c): CRC-32C known answers, round trips of every element
 * type, the on-disk layout byte by byte, rejection of truncated, bit-flipped and malformed
 * files, atomic replacement, and allocation accounting. Each test gets a fresh directory under
 * /tmp and removes it afterwards. Links the library's objects to reach the reco__ API. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_common.h"
#include "file_private.h"

#define MAGIC "RECOTST1"
#define BIG_FLOATS ((size_t)10 * 1024 * 1024 / 4) /* a 10 MB section */

/* ---- fixtures and helpers ------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    char path[128]; /* dir/file.bin, the target most tests write */
} fixture;

static int setup_dir(void **state)
{
    static fixture f;
    snprintf(f.dir, sizeof f.dir, "/tmp/reco-test-file-XXXXXX");
    if (mkdtemp(f.dir) == NULL)
        return -1;
    snprintf(f.path, sizeof f.path, "%s/file.bin", f.dir);
    *state = &f;
    return 0;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int teardown_dir(void **state)
{
    fixture *f = *state;
    remove_tree(f->dir);
    return 0;
}

/* Number of entries in `dir`, and how many of them look like our temporary files. */
static size_t count_entries(const char *dir, size_t *temps)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0, t = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (strstr(e->d_name, ".tmp-") != NULL)
            t++;
    }
    closedir(d);
    if (temps != NULL)
        *temps = t;
    return n;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* Recomputes both CRCs as the format defines them, so a test can build a file that is
 * well-checksummed but malformed. */
static void fix_crcs(unsigned char *buf, size_t len)
{
    put32(buf + 28, reco__crc32c(0, buf, 28));
    put32(buf + len - 4, reco__crc32c(0, buf + 32, len - 36));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct counting {
    size_t allocs;
    size_t frees;
    size_t fail_at; /* fail this 1-based allocation and every later one; 0 = never */
    size_t attempts;
} counting;

static void *counting_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    c->attempts++;
    if (c->fail_at != 0 && c->attempts >= c->fail_at)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    c->allocs++;
    return p;
}

static void counting_free(void *opaque, void *ptr)
{
    counting *c = opaque;
    if (ptr != NULL) {
        c->frees++;
        free(ptr);
    }
}

/* The small sample file: 5 sections, one of each size class, one empty; 232 bytes. */
static const uint8_t sample_u8[3] = {1, 2, 3};
static const int32_t sample_i32[2] = {-7, 2147483647};
static const double sample_f64[1] = {-0.125};
static const char sample_blob[5] = {'h', 'e', 'l', 'l', 'o'};
#define SAMPLE_LEN 232

static int write_sample(const char *path, const reco_allocator *a, uint32_t version)
{
    reco__writer *w = NULL;
    int rc = reco__writer_open(&w, a, path, MAGIC, version);
    if (rc < 0)
        return rc;
    if ((rc = reco__writer_section(w, "a", RECO__FILE_U8, sample_u8, 3)) < 0 ||
        (rc = reco__writer_section(w, "b", RECO__FILE_I32, sample_i32, 2)) < 0 ||
        (rc = reco__writer_section(w, "c", RECO__FILE_F64, sample_f64, 1)) < 0 ||
        (rc = reco__writer_section(w, "empty", RECO__FILE_F32, NULL, 0)) < 0 ||
        (rc = reco__writer_section(w, "blob", RECO__FILE_BYTES, sample_blob, 5)) < 0) {
        reco__writer_abort(w);
        return rc;
    }
    return reco__writer_commit(w);
}

static int read_sample(const char *path, const reco_allocator *a)
{
    reco__reader *r = NULL;
    uint32_t version = 0;
    int rc = reco__reader_open(&r, a, path, MAGIC, 1, 1, &version);
    if (rc < 0)
        return rc;
    uint8_t u8[3];
    int32_t i32[2];
    double f64[1];
    char blob[5];
    if ((rc = reco__reader_section(r, "a", RECO__FILE_U8, u8, 3)) == RECO_OK &&
        (rc = reco__reader_section(r, "b", RECO__FILE_I32, i32, 2)) == RECO_OK &&
        (rc = reco__reader_section(r, "c", RECO__FILE_F64, f64, 1)) == RECO_OK &&
        (rc = reco__reader_section(r, "empty", RECO__FILE_F32, NULL, 0)) == RECO_OK &&
        (rc = reco__reader_section(r, "blob", RECO__FILE_BYTES, blob, 5)) == RECO_OK) {
        assert_int_equal(version, 1);
        assert_memory_equal(u8, sample_u8, sizeof u8);
        assert_memory_equal(i32, sample_i32, sizeof i32);
        assert_memory_equal(f64, sample_f64, sizeof f64);
        assert_memory_equal(blob, sample_blob, sizeof blob);
    }
    reco__reader_close(r);
    return rc;
}

static int open_status(const char *path, uint32_t min_version, uint32_t max_version)
{
    reco__reader *r = NULL;
    int rc = reco__reader_open(&r, NULL, path, MAGIC, min_version, max_version, NULL);
    if (rc == RECO_OK)
        assert_non_null(r);
    else
        assert_null(r);
    reco__reader_close(r);
    return rc;
}

/* ---- CRC ------------------------------------------------------------------------------ */

static void test_file_crc32c_known_answers(void **state)
{
    (void)state;
    /* Check value of the Castagnoli CRC, and the iSCSI vectors of RFC 3720 B.4. */
    assert_int_equal(reco__crc32c(0, "123456789", 9), 0xE3069283u);
    unsigned char buf[32];
    memset(buf, 0, sizeof buf);
    assert_int_equal(reco__crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    assert_int_equal(reco__crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    assert_int_equal(reco__crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    assert_int_equal(reco__crc32c(0, buf, 32), 0x113FDB5Cu);
    assert_int_equal(reco__crc32c(0, NULL, 0), 0);
    assert_int_equal(reco__crc32c(0x12345678u, NULL, 0), 0x12345678u);
}

/* The 8-byte fast path against the bytewise definition, at every start offset and split. */
static uint32_t crc_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static void test_file_crc32c_incremental(void **state)
{
    (void)state;
    unsigned char buf[1031];
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    for (size_t start = 0; start < 9; start++)
        for (size_t n = 0; n + start <= sizeof buf; n += 1 + n / 3)
            assert_int_equal(reco__crc32c(0, buf + start, n), crc_bitwise(buf + start, n));
    uint32_t whole = reco__crc32c(0, buf, sizeof buf);
    for (size_t split = 0; split <= sizeof buf; split++) {
        uint32_t c = reco__crc32c(0, buf, split);
        assert_int_equal(reco__crc32c(c, buf + split, sizeof buf - split), whole);
    }
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        c = reco__crc32c(c, buf + i, 1);
    assert_int_equal(c, whole);
}

static void test_file_type_helpers(void **state)
{
    (void)state;
    assert_int_equal(reco__file_type_size(RECO__FILE_U8), 1);
    assert_int_equal(reco__file_type_size(RECO__FILE_BYTES), 1);
    assert_int_equal(reco__file_type_size(RECO__FILE_I32), 4);
    assert_int_equal(reco__file_type_size(RECO__FILE_U32), 4);
    assert_int_equal(reco__file_type_size(RECO__FILE_F32), 4);
    assert_int_equal(reco__file_type_size(RECO__FILE_U64), 8);
    assert_int_equal(reco__file_type_size(RECO__FILE_I64), 8);
    assert_int_equal(reco__file_type_size(RECO__FILE_F64), 8);
    assert_int_equal(reco__file_type_size(0), 0);
    assert_int_equal(reco__file_type_size(9), 0);
    assert_string_equal(reco__file_type_name(RECO__FILE_F32), "f32");
    assert_string_equal(reco__file_type_name(RECO__FILE_BYTES), "bytes");
    assert_string_equal(reco__file_type_name(RECO__FILE_I64), "i64");
    assert_string_equal(reco__file_type_name(0), "unknown");
    assert_string_equal(reco__file_type_name(12345), "unknown");
}

/* ---- round trips and layout ----------------------------------------------------------- */

static void test_file_round_trip_all_types(void **state)
{
    fixture *f = *state;
    const uint8_t u8[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 254, 255};
    const int32_t i32[7] = {0, -1, 1, INT32_MIN, INT32_MAX, 12345, -12345};
    const uint32_t u32[5] = {0, 1, UINT32_MAX, 0xdeadbeefu, 42};
    const uint64_t u64[3] = {0, UINT64_MAX, 0x0123456789abcdefu};
    const int64_t i64[2] = {INT64_MIN, INT64_MAX};
    const float f32[9] = {0.0f, -0.0f, 1.5f, -3.25e-38f, 3.4e38f, 1e-45f, INFINITY, NAN, 0.1f};
    const double f64[4] = {0.1, -1e308, 5e-324, -INFINITY};
    const char bytes[11] = "hello\0world";
    float *big = malloc(BIG_FLOATS * sizeof *big);
    float *big_back = malloc(BIG_FLOATS * sizeof *big_back);
    assert_non_null(big);
    assert_non_null(big_back);
    for (size_t i = 0; i < BIG_FLOATS; i++)
        big[i] = (float)i * 0.5f - 1000.0f;
    uint32_t ring[1000];
    for (uint32_t i = 0; i < 1000; i++)
        ring[i] = i * 2654435761u;

    double t0 = now_s();
    reco__writer *w = NULL;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 3), RECO_OK);
    assert_non_null(w);
    assert_int_equal(reco__writer_section(w, "u8", RECO__FILE_U8, u8, 13), RECO_OK);
    assert_int_equal(reco__writer_section(w, "i32", RECO__FILE_I32, i32, 7), RECO_OK);
    assert_int_equal(reco__writer_section(w, "u32", RECO__FILE_U32, u32, 5), RECO_OK);
    assert_int_equal(reco__writer_section(w, "u64", RECO__FILE_U64, u64, 3), RECO_OK);
    assert_int_equal(reco__writer_section(w, "i64", RECO__FILE_I64, i64, 2), RECO_OK);
    assert_int_equal(reco__writer_section(w, "f32", RECO__FILE_F32, f32, 9), RECO_OK);
    assert_int_equal(reco__writer_section(w, "f64", RECO__FILE_F64, f64, 4), RECO_OK);
    assert_int_equal(reco__writer_section(w, "bytes", RECO__FILE_BYTES, bytes, 11), RECO_OK);
    for (uint32_t t = RECO__FILE_U8; t <= RECO__FILE_I64; t++) {
        char name[16];
        snprintf(name, sizeof name, "empty_%s", reco__file_type_name(t));
        assert_int_equal(reco__writer_section(w, name, t, NULL, 0), RECO_OK);
    }
    /* A ring buffer saved oldest-first in two slices, with an empty append in between. */
    assert_int_equal(reco__writer_section_begin(w, "ring", RECO__FILE_U32, 1000), RECO_OK);
    assert_int_equal(reco__writer_section_append(w, ring + 600, 400), RECO_OK);
    assert_int_equal(reco__writer_section_append(w, NULL, 0), RECO_OK);
    assert_int_equal(reco__writer_section_append(w, ring, 600), RECO_OK);
    assert_int_equal(reco__writer_section_end(w), RECO_OK);
    assert_int_equal(reco__writer_section(w, "abcdefghijklmno", RECO__FILE_F32, big, BIG_FLOATS),
                     RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    double t1 = now_s();

    size_t temps;
    assert_int_equal(count_entries(f->dir, &temps), 1);
    assert_int_equal(temps, 0);

    reco__reader *r = NULL;
    uint32_t version = 0;
    assert_int_equal(reco__reader_open(&r, NULL, f->path, MAGIC, 2, 4, &version), RECO_OK);
    assert_int_equal(version, 3);
    assert_int_equal(
        reco__reader_section(r, "abcdefghijklmno", RECO__FILE_F32, big_back, BIG_FLOATS), RECO_OK);
    double t2 = now_s();
    assert_memory_equal(big_back, big, BIG_FLOATS * sizeof *big);

    uint8_t u8b[13];
    int32_t i32b[7];
    uint32_t u32b[5], ringb[1000];
    uint64_t u64b[3];
    int64_t i64b[2];
    float f32b[9];
    double f64b[4];
    char bytesb[11];
    assert_int_equal(reco__reader_section(r, "u8", RECO__FILE_U8, u8b, 13), RECO_OK);
    assert_int_equal(reco__reader_section(r, "i32", RECO__FILE_I32, i32b, 7), RECO_OK);
    assert_int_equal(reco__reader_section(r, "u32", RECO__FILE_U32, u32b, 5), RECO_OK);
    assert_int_equal(reco__reader_section(r, "u64", RECO__FILE_U64, u64b, 3), RECO_OK);
    assert_int_equal(reco__reader_section(r, "i64", RECO__FILE_I64, i64b, 2), RECO_OK);
    assert_int_equal(reco__reader_section(r, "f32", RECO__FILE_F32, f32b, 9), RECO_OK);
    assert_int_equal(reco__reader_section(r, "f64", RECO__FILE_F64, f64b, 4), RECO_OK);
    assert_int_equal(reco__reader_section(r, "bytes", RECO__FILE_BYTES, bytesb, 11), RECO_OK);
    assert_int_equal(reco__reader_section(r, "ring", RECO__FILE_U32, ringb, 1000), RECO_OK);
    assert_memory_equal(u8b, u8, sizeof u8);
    assert_memory_equal(i32b, i32, sizeof i32);
    assert_memory_equal(u32b, u32, sizeof u32);
    assert_memory_equal(u64b, u64, sizeof u64);
    assert_memory_equal(i64b, i64, sizeof i64);
    assert_memory_equal(f32b, f32, sizeof f32); /* bitwise: NaN, -0 and denormals survive */
    assert_memory_equal(f64b, f64, sizeof f64);
    assert_memory_equal(bytesb, bytes, sizeof bytes);
    assert_memory_equal(ringb, ring + 600, 400 * sizeof *ring);
    assert_memory_equal(ringb + 400, ring, 600 * sizeof *ring);
    for (uint32_t t = RECO__FILE_U8; t <= RECO__FILE_I64; t++) {
        char name[16];
        snprintf(name, sizeof name, "empty_%s", reco__file_type_name(t));
        uint32_t type = 0;
        uint64_t count = 99;
        assert_int_equal(reco__reader_section_info(r, name, &type, &count), RECO_OK);
        assert_int_equal(type, t);
        assert_int_equal(count, 0);
        assert_int_equal(reco__reader_section(r, name, t, NULL, 0), RECO_OK);
    }
    uint32_t type;
    uint64_t count;
    assert_int_equal(reco__reader_section_info(r, "abcdefghijklmno", &type, &count), RECO_OK);
    assert_int_equal(type, RECO__FILE_F32);
    assert_int_equal(count, BIG_FLOATS);
    assert_int_equal(reco__reader_section_info(r, "ring", NULL, NULL), RECO_OK);
    assert_true(reco__reader_has_section(r, "ring"));
    assert_false(reco__reader_has_section(r, "nope"));
    assert_false(reco__reader_has_section(r, "abcdefghijklmnop")); /* too long to exist */
    assert_false(reco__reader_has_section(r, NULL));
    reco__reader_close(r);
    reco__reader_close(NULL);

    double mb = (double)(BIG_FLOATS * sizeof *big) / 1e6;
    print_message("10 MB section: write+commit (fsync) %.1f ms = %.0f MB/s; "
                  "open (verify) + read %.1f ms = %.0f MB/s\n",
                  (t1 - t0) * 1e3, mb / (t1 - t0), (t2 - t1) * 1e3, mb / (t2 - t1));
    free(big);
    free(big_back);
}

/* The bytes of the sample file against the format table in file_private.h, as a reader in
 * another language would see them. */
static void test_file_layout_matches_spec(void **state)
{
    fixture *f = *state;
    assert_int_equal(write_sample(f->path, NULL, 0x01020304u), RECO_OK);
    size_t len;
    unsigned char *b = read_all(f->path, &len);
    assert_int_equal(len, SAMPLE_LEN);
    assert_memory_equal(b, MAGIC, 8);
    assert_int_equal(le32(b + 8), 0x01020304u);
    assert_int_equal(le32(b + 12), 0);
    assert_int_equal(le64(b + 16), len);
    assert_int_equal(le32(b + 24), 5);
    assert_int_equal(le32(b + 28), reco__crc32c(0, b, 28));

    static const struct {
        const char *name;
        uint32_t type;
        uint64_t count;
        size_t size;
    } want[] = {{"a", RECO__FILE_U8, 3, 1},
                {"b", RECO__FILE_I32, 2, 4},
                {"c", RECO__FILE_F64, 1, 8},
                {"empty", RECO__FILE_F32, 0, 4},
                {"blob", RECO__FILE_BYTES, 5, 1}};
    const void *data[] = {sample_u8, sample_i32, sample_f64, NULL, sample_blob};
    size_t pos = 32;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(pos % 8, 0);
        char name[16] = {0};
        strcpy(name, want[i].name);
        assert_memory_equal(b + pos, name, 16); /* NUL-padded */
        assert_int_equal(le32(b + pos + 16), want[i].type);
        assert_int_equal(le32(b + pos + 20), 0);
        assert_int_equal(le64(b + pos + 24), want[i].count);
        size_t n = want[i].count * want[i].size, padded = (n + 7) / 8 * 8;
        if (n > 0)
            assert_memory_equal(b + pos + 32, data[i], n);
        for (size_t k = n; k < padded; k++)
            assert_int_equal(b[pos + 32 + k], 0);
        pos += 32 + padded;
    }
    assert_int_equal(pos, len - 8);
    assert_memory_equal(b + pos, "REND", 4);
    assert_int_equal(le32(b + len - 4), reco__crc32c(0, b + 32, len - 36));
    free(b);

    /* The smallest file: no sections. */
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    b = read_all(f->path, &len);
    assert_int_equal(len, 40);
    assert_int_equal(le32(b + 24), 0);
    free(b);
    reco__reader *r;
    assert_int_equal(reco__reader_open(&r, NULL, f->path, MAGIC, 1, 1, NULL), RECO_OK);
    assert_reco_error(reco__reader_section_info(r, "x", NULL, NULL), RECO_EFORMAT,
                      "section \"x\" missing");
    reco__reader_close(r);
}

/* ---- damaged files -------------------------------------------------------------------- */

static void test_file_truncated_everywhere(void **state)
{
    fixture *f = *state;
    char cut[160];
    snprintf(cut, sizeof cut, "%s/cut.bin", f->dir);

    /* Every length of the small file, longest first: truncate() a copy step by step. */
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    size_t len;
    unsigned char *b = read_all(f->path, &len);
    write_all(cut, b, len);
    assert_int_equal(open_status(cut, 1, 1), RECO_OK);
    for (size_t n = len; n-- > 0;) {
        assert_int_equal(truncate(cut, (off_t)n), 0);
        assert_reco_error(open_status(cut, 1, 1), RECO_EFORMAT, "truncated");
        if (n >= 40) {
            char msg[80];
            snprintf(msg, sizeof msg, "truncated: expected %zu bytes, file has %zu", len, n);
            assert_non_null(strstr(reco_error_message(), msg));
        } else if (n >= 8) {
            assert_non_null(strstr(reco_error_message(), "expected at least 40 bytes"));
        }
        assert_non_null(strstr(reco_error_message(), cut));
    }
    free(b);

    /* A 10 MB file at sampled lengths, among them the edges of every structure. */
    float *big = calloc(BIG_FLOATS, sizeof *big);
    assert_non_null(big);
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, cut, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "big", RECO__FILE_F32, big, BIG_FLOATS), RECO_OK);
    assert_int_equal(reco__writer_section(w, "tail", RECO__FILE_U8, "xyz", 3), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    free(big);
    const size_t big_len = 32 + 32 + BIG_FLOATS * 4 + 32 + 8 + 8;
    /* clang-format off */
    const size_t edges[] = { big_len - 1, big_len - 4, big_len - 8, big_len - 9, big_len - 48,
                             big_len - 49, 64 + BIG_FLOATS * 4, 64 + BIG_FLOATS * 4 - 1, 65,
                             64, 63, 40, 39, 33, 32, 31, 8, 7, 1, 0 };
    /* clang-format on */
    size_t prev = big_len;
    for (size_t k = 0; k < 64; k++) {
        /* 44 evenly spread lengths, then the edges, all in descending order. */
        size_t n = k < 44 ? big_len - 1 - (big_len - 100) / 44 * k : edges[k - 44];
        if (n >= prev)
            continue;
        prev = n;
        assert_int_equal(truncate(cut, (off_t)n), 0);
        assert_reco_error(open_status(cut, 1, 1), RECO_EFORMAT, "truncated");
    }
}

static void test_file_bit_flips_detected(void **state)
{
    fixture *f = *state;
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.bin", f->dir);
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    size_t len;
    unsigned char *b = read_all(f->path, &len);
    assert_int_equal(len, SAMPLE_LEN);
    /* Every byte with one bit (rotating), and all 8 bits at the start of every field. */
    const size_t all_bits[] = {0,
                               7,
                               8,
                               12,
                               16,
                               24,
                               28,
                               31,
                               32,
                               47,
                               48,
                               52,
                               56,
                               64,
                               72,
                               SAMPLE_LEN - 8,
                               SAMPLE_LEN - 5,
                               SAMPLE_LEN - 4,
                               SAMPLE_LEN - 1};
    size_t flips = 0;
    for (size_t pos = 0; pos < len; pos++) {
        int every = 0;
        for (size_t k = 0; k < sizeof all_bits / sizeof all_bits[0]; k++)
            every |= all_bits[k] == pos;
        for (int bit = 0; bit < 8; bit++) {
            if (!every && bit != (int)(pos % 8))
                continue;
            b[pos] ^= (unsigned char)(1u << bit);
            write_all(bad, b, len);
            b[pos] ^= (unsigned char)(1u << bit);
            int rc = open_status(bad, 1, 1);
            /* header_crc is checked before the version, so no flip reads as RECO_EVERSION. */
            if (rc != RECO_EFORMAT)
                fail_msg("flip of bit %d at byte %zu: got %s: %s", bit, pos, reco_status_name(rc),
                         reco_error_message());
            const char *want = pos < 8    ? "not a RECOTST1 file"
                               : pos < 32 ? "header checksum mismatch (file corrupted)"
                                          : "checksum mismatch (file corrupted)";
            if (strstr(reco_error_message(), want) == NULL)
                fail_msg("flip of bit %d at byte %zu: \"%s\" lacks \"%s\"", bit, pos,
                         reco_error_message(), want);
            flips++;
        }
    }
    assert_true(flips > len);
    free(b);
    assert_int_equal(read_sample(f->path, NULL), RECO_OK); /* the original still reads */
}

/* Files whose checksums are right but whose structure is not (a writer bug or a crafted
 * file): each check still holds on its own. */
static void expect_malformed(const char *path, const unsigned char *orig, size_t len, size_t at,
                             const void *bytes, size_t n, int code, const char *needle)
{
    unsigned char *b = malloc(len);
    assert_non_null(b);
    memcpy(b, orig, len);
    memcpy(b + at, bytes, n);
    fix_crcs(b, len);
    write_all(path, b, len);
    free(b);
    assert_reco_error(open_status(path, 1, 1), code, needle);
}

static void test_file_malformed_but_checksummed(void **state)
{
    fixture *f = *state;
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.bin", f->dir);
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    size_t len;
    unsigned char *b = read_all(f->path, &len);
    unsigned char v[8];

    /* Our own fix_crcs() leaves a good file good. */
    expect_malformed(bad, b, len, 0, MAGIC, 8, RECO_OK, "");

    /* header */
    put32(v, 1);
    expect_malformed(bad, b, len, 12, v, 4, RECO_EFORMAT, "unsupported container flags 0x1");
    put64(v, len + 8);
    expect_malformed(bad, b, len, 16, v, 8, RECO_EFORMAT,
                     "truncated: expected 240 bytes, "
                     "file has 232");
    put64(v, len - 8);
    expect_malformed(bad, b, len, 16, v, 8, RECO_EFORMAT, "trailing data: expected 224 bytes");
    put64(v, 41);
    expect_malformed(bad, b, len, 16, v, 8, RECO_EFORMAT, "invalid length 41");
    put32(v, 7);
    expect_malformed(bad, b, len, 24, v, 4, RECO_EFORMAT, "header claims 7 sections");
    put32(v, 6);
    expect_malformed(bad, b, len, 24, v, 4, RECO_EFORMAT, "section 6 of 6 starts past");
    put32(v, 4);
    expect_malformed(bad, b, len, 24, v, 4, RECO_EFORMAT, "bytes after the last of 4 sections");
    put32(v, 0);
    expect_malformed(bad, b, len, 24, v, 4, RECO_EFORMAT, "bytes after the last of 0 sections");

    /* first section ("a", u8 x 3) at offset 32 */
    expect_malformed(bad, b, len, 32, "\x01", 1, RECO_EFORMAT, "section 1 has an invalid name");
    expect_malformed(bad, b, len, 32, "\0", 1, RECO_EFORMAT, "section 1 has an invalid name");
    expect_malformed(bad, b, len, 40, "x", 1, RECO_EFORMAT, "section 1 has an invalid name");
    expect_malformed(bad, b, len, 32, "0123456789abcdef", 16, RECO_EFORMAT,
                     "section 1 has an invalid name");
    put32(v, 99);
    expect_malformed(bad, b, len, 48, v, 4, RECO_EFORMAT,
                     "section \"a\" has unknown element type 99");
    put32(v, 0);
    expect_malformed(bad, b, len, 48, v, 4, RECO_EFORMAT, "unknown element type 0");
    put32(v, 1);
    expect_malformed(bad, b, len, 52, v, 4, RECO_EFORMAT, "section \"a\": reserved field is 1");
    put64(v, UINT64_C(1) << 40);
    expect_malformed(bad, b, len, 56, v, 8, RECO_EFORMAT,
                     "section \"a\": 1099511627776 u8 values run past the end of the file");
    put64(v, 161); /* one more than the 160 bytes between its data and the trailer */
    expect_malformed(bad, b, len, 56, v, 8, RECO_EFORMAT, "161 u8 values run past the end");
    put64(v, 160);
    expect_malformed(bad, b, len, 56, v, 8, RECO_EFORMAT, "section 2 of 5 starts past");
    /* count * size overflows 64 bits: caught before the multiplication */
    unsigned char hdr[16];
    put32(hdr, RECO__FILE_U64);
    put32(hdr + 4, 0);
    put64(hdr + 8, UINT64_MAX / 4);
    expect_malformed(bad, b, len, 48, hdr, 16, RECO_EFORMAT, "u64 values run past the end");
    /* count 9 still fits (9 data + 7 padding bytes) but eats into the next section's header */
    put64(v, 9);
    expect_malformed(bad, b, len, 56, v, 8, RECO_EFORMAT, "section 2 has an invalid name");
    expect_malformed(bad, b, len, 67, "\x01", 1, RECO_EFORMAT,
                     "section \"a\": padding is not "
                     "zero");
    /* second section ("b") renamed "a" */
    expect_malformed(bad, b, len, 72, "a", 1, RECO_EFORMAT, "duplicate section \"a\"");
    /* trailer */
    expect_malformed(bad, b, len, len - 8, "RENX", 4, RECO_EFORMAT, "end marker \"REND\" missing");
    free(b);
}

/* ---- caller errors -------------------------------------------------------------------- */

static void test_file_wrong_magic_and_version(void **state)
{
    fixture *f = *state;
    assert_int_equal(write_sample(f->path, NULL, 3), RECO_OK);
    reco__reader *r = (reco__reader *)(uintptr_t)1;
    assert_reco_error(reco__reader_open(&r, NULL, f->path, "RECOMDL1", 1, 9, NULL), RECO_EFORMAT,
                      "not a RECOMDL1 file");
    assert_null(r);
    assert_non_null(strstr(reco_error_message(), f->path));
    /* non-printable magic bytes are shown as '?' */
    assert_reco_error(
        reco__reader_open(&r, NULL, f->path, "AB\x01\x02\x03\x04\x05\x06", 1, 9, NULL),
        RECO_EFORMAT, "not a AB?????? file");
    uint32_t version = 77;
    assert_reco_error(reco__reader_open(&r, NULL, f->path, MAGIC, 4, 5, &version), RECO_EVERSION,
                      "format version 3 not supported (4..5)");
    assert_int_equal(version, 77); /* untouched on failure */
    assert_reco_error(reco__reader_open(&r, NULL, f->path, MAGIC, 1, 2, &version), RECO_EVERSION,
                      "format version 3 not supported (1..2)");
    assert_int_equal(reco__reader_open(&r, NULL, f->path, MAGIC, 3, 3, &version), RECO_OK);
    assert_int_equal(version, 3);
    reco__reader_close(r);
    assert_reco_error(reco__reader_open(&r, NULL, f->path, MAGIC, 2, 1, NULL), RECO_EINVAL,
                      "min_version 2 > max_version 1");
    assert_reco_error(reco__reader_open(NULL, NULL, f->path, MAGIC, 1, 1, NULL), RECO_EINVAL,
                      "out is NULL");
    assert_reco_error(reco__reader_open(&r, NULL, NULL, MAGIC, 1, 1, NULL), RECO_EINVAL,
                      "path is NULL");
    assert_reco_error(reco__reader_open(&r, NULL, f->path, NULL, 1, 1, NULL), RECO_EINVAL,
                      "magic is NULL");

    /* A short file that is not even a prefix of the magic is "not a ... file". */
    char other[160];
    snprintf(other, sizeof other, "%s/other.txt", f->dir);
    write_all(other, "hi", 2);
    assert_reco_error(open_status(other, 1, 1), RECO_EFORMAT, "not a RECOTST1 file");
    write_all(other, "RECO", 4);
    assert_reco_error(open_status(other, 1, 1), RECO_EFORMAT, "truncated");
    write_all(other, "", 0);
    assert_reco_error(open_status(other, 1, 1), RECO_EFORMAT,
                      "truncated: expected at least 40 bytes, file has 0");
}

static void test_file_section_request_errors(void **state)
{
    fixture *f = *state;
    const float params[1000] = {0};
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "params", RECO__FILE_F32, params, 1000), RECO_OK);
    assert_int_equal(reco__writer_section(w, "blob", RECO__FILE_BYTES, params, 10), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);

    reco__reader *r;
    assert_int_equal(reco__reader_open(&r, NULL, f->path, MAGIC, 1, 1, NULL), RECO_OK);
    float dst[1024];
    char msg[200];
    snprintf(msg, sizeof msg, "%s: section \"moments\" missing", f->path);
    assert_reco_error(reco__reader_section(r, "moments", RECO__FILE_F32, dst, 1024), RECO_EFORMAT,
                      msg);
    assert_reco_error(reco__reader_section_info(r, "moments", NULL, NULL), RECO_EFORMAT,
                      "section \"moments\" missing");
    assert_reco_error(reco__reader_section(r, "params", RECO__FILE_F64, dst, 500), RECO_EFORMAT,
                      "section \"params\" has type f32, expected f64");
    snprintf(msg, sizeof msg, "%s: section \"params\" has 1000 f32 values, expected 1024", f->path);
    assert_reco_error(reco__reader_section(r, "params", RECO__FILE_F32, dst, 1024), RECO_EFORMAT,
                      msg);
    assert_reco_error(reco__reader_section(r, "blob", RECO__FILE_BYTES, dst, 12), RECO_EFORMAT,
                      "section \"blob\" has 10 bytes, expected 12");
    assert_reco_error(reco__reader_section(r, "params", RECO__FILE_F32, NULL, 1000), RECO_EINVAL,
                      "dst is NULL");
    assert_reco_error(reco__reader_section(r, "params", 42, dst, 1000), RECO_EINVAL,
                      "unknown element type 42");
    assert_reco_error(reco__reader_section(NULL, "params", RECO__FILE_F32, dst, 1000), RECO_EINVAL,
                      "r is NULL");
    assert_reco_error(reco__reader_section(r, NULL, RECO__FILE_F32, dst, 1000), RECO_EINVAL,
                      "name is NULL");
    /* a name no file can hold is simply missing */
    assert_reco_error(reco__reader_section(r, "a-name-that-is-too-long", RECO__FILE_F32, dst, 1),
                      RECO_EFORMAT, "missing");
    /* after all those failures the reader still works */
    assert_int_equal(reco__reader_section(r, "params", RECO__FILE_F32, dst, 1000), RECO_OK);
    reco__reader_close(r);
}

/* Every misuse of the writer fails, poisons it, and leaves no file behind. */
static void writer_misuse(const char *path, const char *dir, int step, int code, const char *needle)
{
    const uint32_t data[4] = {1, 2, 3, 4};
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, path, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "ok", RECO__FILE_U32, data, 4), RECO_OK);
    int rc = RECO_OK;
    switch (step) {
    case 0:
        rc = reco__writer_section(w, "", RECO__FILE_U32, data, 4);
        break;
    case 1:
        rc = reco__writer_section(w, "0123456789abcdef", RECO__FILE_U32, data, 4);
        break;
    case 2:
        rc = reco__writer_section(w, "with space", RECO__FILE_U32, data, 4);
        break;
    case 3:
        rc = reco__writer_section(w, NULL, RECO__FILE_U32, data, 4);
        break;
    case 4:
        rc = reco__writer_section(w, "t", 0, data, 4);
        break;
    case 5:
        rc = reco__writer_section(w, "ok", RECO__FILE_U32, data, 4);
        break;
    case 6:
        rc = reco__writer_section(w, "n", RECO__FILE_U32, NULL, 4);
        break;
    case 7:
        rc = reco__writer_section(w, "huge", RECO__FILE_F64, data, UINT64_MAX / 4);
        break;
    case 8:
        rc = reco__writer_section_append(w, data, 1);
        break;
    case 9:
        rc = reco__writer_section_end(w);
        break;
    case 10:
        assert_int_equal(reco__writer_section_begin(w, "p", RECO__FILE_U32, 4), RECO_OK);
        assert_int_equal(reco__writer_section_append(w, data, 3), RECO_OK);
        rc = reco__writer_section_append(w, data, 2);
        break;
    case 11:
        assert_int_equal(reco__writer_section_begin(w, "p", RECO__FILE_U32, 4), RECO_OK);
        assert_int_equal(reco__writer_section_append(w, data, 3), RECO_OK);
        rc = reco__writer_section_end(w);
        break;
    case 12:
        assert_int_equal(reco__writer_section_begin(w, "p", RECO__FILE_U32, 4), RECO_OK);
        rc = reco__writer_section_begin(w, "q", RECO__FILE_U32, 4);
        break;
    case 13: /* commit with a section open */
        assert_int_equal(reco__writer_section_begin(w, "p", RECO__FILE_U32, 4), RECO_OK);
        assert_reco_error(reco__writer_commit(w), code, needle);
        assert_int_equal(count_entries(dir, NULL), 0);
        return;
    }
    assert_reco_error(rc, code, needle);
    /* poisoned: later calls and commit fail with RECO_ESTATE, nothing is written */
    assert_reco_error(reco__writer_section(w, "later", RECO__FILE_U32, data, 4), RECO_ESTATE,
                      "an earlier call failed");
    assert_reco_error(reco__writer_commit(w), RECO_ESTATE, "an earlier call failed");
    assert_non_null(strstr(reco_error_message(), path));
    assert_int_equal(count_entries(dir, NULL), 0);
}

static void test_file_writer_misuse(void **state)
{
    fixture *f = *state;
    writer_misuse(f->path, f->dir, 0, RECO_EINVAL, "invalid section name \"\"");
    writer_misuse(f->path, f->dir, 1, RECO_EINVAL, "invalid section name \"0123456789abcdef\"");
    writer_misuse(f->path, f->dir, 2, RECO_EINVAL, "invalid section name \"with space\"");
    writer_misuse(f->path, f->dir, 3, RECO_EINVAL, "invalid section name \"(null)\"");
    writer_misuse(f->path, f->dir, 4, RECO_EINVAL, "section \"t\": unknown element type 0");
    writer_misuse(f->path, f->dir, 5, RECO_EINVAL, "duplicate section \"ok\"");
    writer_misuse(f->path, f->dir, 6, RECO_EINVAL, "section \"n\": data is NULL");
    writer_misuse(f->path, f->dir, 7, RECO_EINVAL, "too many for a file");
    writer_misuse(f->path, f->dir, 8, RECO_ESTATE, "no section is open");
    writer_misuse(f->path, f->dir, 9, RECO_ESTATE, "no section is open");
    writer_misuse(f->path, f->dir, 10, RECO_EINVAL, "2 more elements would exceed the declared 4");
    writer_misuse(f->path, f->dir, 11, RECO_EINVAL, "section \"p\" ended after 3 of its 4");
    writer_misuse(f->path, f->dir, 12, RECO_ESTATE, "section \"p\" is still open");
    writer_misuse(f->path, f->dir, 13, RECO_ESTATE, "section \"p\" is still open");

    reco__writer *w = (reco__writer *)(uintptr_t)1;
    assert_reco_error(reco__writer_open(&w, NULL, f->dir, NULL, 1), RECO_EINVAL, "magic is NULL");
    assert_null(w);
    assert_reco_error(reco__writer_open(&w, NULL, NULL, MAGIC, 1), RECO_EINVAL, "path is NULL");
    assert_reco_error(reco__writer_open(&w, NULL, "", MAGIC, 1), RECO_EINVAL, "names no file");
    assert_reco_error(reco__writer_open(&w, NULL, "/tmp/", MAGIC, 1), RECO_EINVAL, "names no file");
    assert_reco_error(reco__writer_open(NULL, NULL, f->path, MAGIC, 1), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco__writer_section(NULL, "x", RECO__FILE_U8, "", 0), RECO_EINVAL,
                      "w is NULL");
    assert_reco_error(reco__writer_commit(NULL), RECO_EINVAL, "w is NULL");
    reco__writer_abort(NULL);
    assert_int_equal(count_entries(f->dir, NULL), 0);
}

/* ---- atomicity ------------------------------------------------------------------------ */

static void test_file_abort_leaves_nothing(void **state)
{
    fixture *f = *state;
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 1), RECO_OK);
    size_t temps;
    assert_int_equal(count_entries(f->dir, &temps), 1); /* the temporary file, nothing else */
    assert_int_equal(temps, 1);
    assert_int_equal(reco__writer_section(w, "a", RECO__FILE_U8, "abc", 3), RECO_OK);
    reco__writer_abort(w);
    assert_int_equal(count_entries(f->dir, NULL), 0);

    /* Aborting over an existing file leaves it as it was. */
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "a", RECO__FILE_U8, "xyz", 3), RECO_OK);
    reco__writer_abort(w);
    assert_int_equal(count_entries(f->dir, NULL), 1);
    assert_int_equal(read_sample(f->path, NULL), RECO_OK);
}

static void test_file_commit_replaces_existing(void **state)
{
    fixture *f = *state;
    write_all(f->path, "old contents", 12);
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    assert_int_equal(read_sample(f->path, NULL), RECO_OK);
    /* ... and again over our own format */
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "new", RECO__FILE_U8, "n", 1), RECO_OK);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
    reco__reader *r;
    assert_int_equal(reco__reader_open(&r, NULL, f->path, MAGIC, 1, 1, NULL), RECO_OK);
    assert_true(reco__reader_has_section(r, "new"));
    assert_false(reco__reader_has_section(r, "a"));
    reco__reader_close(r);
    size_t temps;
    assert_int_equal(count_entries(f->dir, &temps), 1);
    assert_int_equal(temps, 0);
    /* a relative path (directory ".") works too */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(write_sample("rel.bin", NULL, 1), RECO_OK);
    assert_int_equal(read_sample("rel.bin", NULL), RECO_OK);
    assert_int_equal(chdir(cwd), 0);
}

static void test_file_failed_commit_keeps_old(void **state)
{
    fixture *f = *state;
    /* The target is a non-empty directory: the temporary file is written, the rename fails. */
    char target[160], inner[200];
    snprintf(target, sizeof target, "%s/occupied", f->dir);
    snprintf(inner, sizeof inner, "%s/keep.txt", target);
    assert_int_equal(mkdir(target, 0755), 0);
    write_all(inner, "keep", 4);
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, target, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "a", RECO__FILE_U8, "abc", 3), RECO_OK);
    assert_reco_error(reco__writer_commit(w), RECO_EIO, "cannot rename the temporary file");
    assert_non_null(strstr(reco_error_message(), target));
    size_t temps;
    assert_int_equal(count_entries(f->dir, &temps), 1);
    assert_int_equal(temps, 0);
    assert_int_equal(count_entries(target, NULL), 1); /* keep.txt, untouched */

    /* Reading a directory or a FIFO is an I/O error, neither a crash nor a hang. */
    assert_reco_error(open_status(target, 1, 1), RECO_EIO, "not a regular file");
    char fifo[160];
    snprintf(fifo, sizeof fifo, "%s/fifo", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_reco_error(open_status(fifo, 1, 1), RECO_EIO, "not a regular file");
}

/* Write errors (ENOSPC, EIO) simulated with RLIMIT_FSIZE, which makes write() fail with
 * EFBIG: once while streaming a large section, once in the flush at commit. */
static void test_file_write_error_keeps_old(void **state)
{
    fixture *f = *state;
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    struct rlimit old_limit, limit;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    limit = old_limit;
    limit.rlim_cur = 100000;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);

    static float big[200000];
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 1), RECO_OK);
    int rc = reco__writer_section(w, "big", RECO__FILE_F32, big, 200000);
    char err_during_section[1024];
    snprintf(err_during_section, sizeof err_during_section, "%s", reco_error_message());
    reco__writer_abort(w);

    limit.rlim_cur = 100;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
    assert_int_equal(reco__writer_open(&w, NULL, f->path, MAGIC, 1), RECO_OK);
    assert_int_equal(reco__writer_section(w, "small", RECO__FILE_F32, big, 250), RECO_OK);
    int rc_commit = reco__writer_commit(w);
    char err_during_commit[1024];
    snprintf(err_during_commit, sizeof err_during_commit, "%s", reco_error_message());

    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
    signal(SIGXFSZ, old_handler);

    assert_int_equal(rc, RECO_EIO);
    assert_non_null(strstr(err_during_section, f->path));
    assert_non_null(strstr(err_during_section, "cannot write the temporary file: File too large"));
    assert_int_equal(rc_commit, RECO_EIO);
    assert_non_null(strstr(err_during_commit, f->path));
    assert_non_null(strstr(err_during_commit, "File too large"));
    size_t temps;
    assert_int_equal(count_entries(f->dir, &temps), 1);
    assert_int_equal(temps, 0);
    assert_int_equal(read_sample(f->path, NULL), RECO_OK);
}

static void test_file_missing_directory(void **state)
{
    fixture *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/no/such/dir/model.bin", f->dir);
    reco__writer *w = (reco__writer *)(uintptr_t)1;
    assert_reco_error(reco__writer_open(&w, NULL, path, MAGIC, 1), RECO_EIO,
                      "cannot create a temporary file next to it: No such file or directory");
    assert_null(w);
    char prefix[220];
    snprintf(prefix, sizeof prefix, "%s: ", path);
    assert_non_null(strstr(reco_error_message(), prefix));
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_error_get(&info), RECO_OK);
    assert_string_equal(info.source, path);

    assert_reco_error(open_status(path, 1, 1), RECO_EIO,
                      "cannot open the file: No such file or directory");
    assert_non_null(strstr(reco_error_message(), path));
}

static void test_file_unwritable_directory(void **state)
{
    fixture *f = *state;
    if (geteuid() == 0)
        skip(); /* root writes anywhere */
    char ro[160], path[200];
    snprintf(ro, sizeof ro, "%s/ro", f->dir);
    snprintf(path, sizeof path, "%s/model.bin", ro);
    assert_int_equal(mkdir(ro, 0555), 0);
    reco__writer *w;
    assert_reco_error(reco__writer_open(&w, NULL, path, MAGIC, 1), RECO_EIO, "Permission denied");
    assert_non_null(strstr(reco_error_message(), path));
    chmod(ro, 0755);
}

/* A reader keeps its verified descriptor; if the file is rewritten in place anyway, section
 * reads refuse it rather than return unverified bytes. */
static void test_file_changed_after_open(void **state)
{
    fixture *f = *state;
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    reco__reader *r;
    assert_int_equal(reco__reader_open(&r, NULL, f->path, MAGIC, 1, 1, NULL), RECO_OK);
    /* replacing by rename is invisible to the open reader */
    assert_int_equal(write_sample(f->path, NULL, 1), RECO_OK);
    uint8_t u8[3];
    assert_int_equal(reco__reader_section(r, "a", RECO__FILE_U8, u8, 3), RECO_OK);
    reco__reader_close(r);

    assert_int_equal(reco__reader_open(&r, NULL, f->path, MAGIC, 1, 1, NULL), RECO_OK);
    FILE *fp = fopen(f->path, "ab");
    assert_non_null(fp);
    fputc('x', fp);
    fclose(fp);
    assert_reco_error(reco__reader_section(r, "a", RECO__FILE_U8, u8, 3), RECO_EFORMAT,
                      "file changed since it was opened");
    reco__reader_close(r);
}

/* ---- memory --------------------------------------------------------------------------- */

static int write_and_read_many(const char *path, const reco_allocator *a)
{
    /* 40 sections: the writer's name table grows past its first 16 slots. */
    reco__writer *w;
    int rc = reco__writer_open(&w, a, path, MAGIC, 1);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < 40 && rc == RECO_OK; i++) {
        char name[16];
        snprintf(name, sizeof name, "s%02u", i);
        rc = reco__writer_section(w, name, RECO__FILE_U32, &i, 1);
    }
    if (rc < 0) {
        reco__writer_abort(w);
        return rc;
    }
    rc = reco__writer_commit(w);
    if (rc < 0)
        return rc;
    reco__reader *r;
    rc = reco__reader_open(&r, a, path, MAGIC, 1, 1, NULL);
    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < 40 && rc == RECO_OK; i++) {
        char name[16];
        uint32_t v = 0;
        snprintf(name, sizeof name, "s%02u", i);
        rc = reco__reader_section(r, name, RECO__FILE_U32, &v, 1);
        if (rc == RECO_OK)
            assert_int_equal(v, i);
    }
    reco__reader_close(r);
    return rc;
}

static void test_file_counting_allocator(void **state)
{
    fixture *f = *state;
    counting c = {0};
    reco_allocator a = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
    assert_int_equal(write_and_read_many(f->path, &a), RECO_OK);
    assert_true(c.allocs >= 5); /* writer, name table and its growth, reader, table, buffer */
    assert_int_equal(c.allocs, c.frees);
    c.allocs = c.frees = 0;
    assert_int_equal(write_sample(f->path, &a, 1), RECO_OK);
    assert_int_equal(read_sample(f->path, &a), RECO_OK);
    assert_int_equal(c.allocs, c.frees);
    /* failed opens free what they took */
    c.allocs = c.frees = 0;
    reco__reader *r;
    assert_int_equal(reco__reader_open(&r, &a, f->path, "RECOMDL1", 1, 1, NULL), RECO_EFORMAT);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.bin", f->dir);
    size_t len;
    unsigned char *b = read_all(f->path, &len);
    b[100] ^= 1;
    write_all(bad, b, len);
    free(b);
    assert_int_equal(reco__reader_open(&r, &a, bad, MAGIC, 1, 1, NULL), RECO_EFORMAT);
    assert_int_equal(c.allocs, c.frees);
    /* an invalid allocator is refused */
    reco_allocator broken = {RECO_ALLOCATOR_VERSION, counting_alloc, NULL, &c};
    reco__writer *w;
    assert_int_equal(reco__writer_open(&w, &broken, f->path, MAGIC, 1), RECO_EINVAL);
    assert_int_equal(reco__reader_open(&r, &broken, f->path, MAGIC, 1, 1, NULL), RECO_EINVAL);
}

static void test_file_allocation_failures(void **state)
{
    fixture *f = *state;
    size_t injected = 0;
    for (size_t n = 1; n < 100; n++) {
        counting c = {0};
        c.fail_at = n;
        reco_allocator a = {RECO_ALLOCATOR_VERSION, counting_alloc, counting_free, &c};
        unlink(f->path);
        int rc = write_and_read_many(f->path, &a);
        assert_int_equal(c.allocs, c.frees);
        size_t temps;
        count_entries(f->dir, &temps);
        assert_int_equal(temps, 0);
        if (c.attempts < n) { /* the failure point lies past the last allocation */
            assert_int_equal(rc, RECO_OK);
            break;
        }
        assert_reco_error(rc, RECO_ENOMEM, "out of memory");
        injected++;
    }
    assert_true(injected >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_crc32c_known_answers),
        cmocka_unit_test(test_file_crc32c_incremental),
        cmocka_unit_test(test_file_type_helpers),
        cmocka_unit_test_setup_teardown(test_file_round_trip_all_types, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_layout_matches_spec, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_truncated_everywhere, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_bit_flips_detected, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_malformed_but_checksummed, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_wrong_magic_and_version, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_section_request_errors, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_writer_misuse, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_abort_leaves_nothing, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_commit_replaces_existing, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_failed_commit_keeps_old, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_write_error_keeps_old, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_missing_directory, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_unwritable_directory, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_changed_after_open, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_counting_allocator, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_allocation_failures, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
