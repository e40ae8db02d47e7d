/* reco_log: options, CSV loading (strict and lenient, the bad-CSV corpus in tests/log/bad),
 * byte-exact CSV and binary round trips, canonical order and sessions, appending, splitting
 * by user, refusal of damaged binary files, and generation from a fake env (log/fake_env.h). */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"
#include "corpus.h"
#include "log/fake_env.h"
#include "env/budget_env.h"
#include "csv_private.h"
#include "file_private.h"
#include "log_private.h"

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/reco-log.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    assert_int_equal(reco_live_handles(), 0);
    return 0;
}

static void data_path(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/log/%s", test_data_dir(), rel);
}

static void tmp_path(char *out, size_t cap, const fixture *f, const char *name)
{
    snprintf(out, cap, "%s/%s", f->dir, name);
}

static reco_log *new_log(void)
{
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, NULL), RECO_OK);
    assert_non_null(log);
    return log;
}

static reco_log *load_good(const char *rel)
{
    char path[1024];
    data_path(path, sizeof path, rel);
    reco_log *log = new_log();
    if (reco_log_load_csv(log, path, NULL) != RECO_OK)
        fail_msg("%s: %s", rel, reco_error_message());
    return log;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void assert_files_equal(const char *a, const char *b)
{
    size_t na, nb;
    char *x = read_all(a, &na), *y = read_all(b, &nb);
    if (na != nb || memcmp(x, y, na) != 0)
        fail_msg("%s and %s differ:\n---\n%s\n---\n%s", a, b, x, y);
    free(x);
    free(y);
}

static void assert_logs_equal(const reco_log *a, const reco_log *b)
{
    reco_log_columns x = RECO_LOG_COLUMNS_INIT, y = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&x, a), RECO_OK);
    assert_int_equal(reco_log_get_columns(&y, b), RECO_OK);
    assert_int_equal(x.n_rows, y.n_rows);
    size_t n = x.n_rows;
    if (n == 0)
        return;
    assert_memory_equal(x.users, y.users, n * sizeof(uint64_t));
    assert_memory_equal(x.sessions, y.sessions, n * sizeof(uint64_t));
    assert_memory_equal(x.steps, y.steps, n * sizeof(uint32_t));
    assert_memory_equal(x.timestamps, y.timestamps, n * sizeof(int64_t));
    assert_memory_equal(x.items, y.items, n * sizeof(int32_t));
    assert_memory_equal(x.feedback, y.feedback, n * sizeof(uint32_t));
    assert_memory_equal(x.exits, y.exits, n);
    assert_int_equal(reco_log_n_sessions(a), reco_log_n_sessions(b));
    assert_int_equal(reco_log_n_users(a), reco_log_n_users(b));
}

/* Checks the invariant every log keeps: canonical order, sessions contiguous with steps
 * 0..n-1, exit only last, users' sessions by start time. */
static void assert_canonical(const reco_log *log)
{
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    size_t covered = 0, users = 0;
    for (size_t s = 0; s < reco_log_n_sessions(log); s++) {
        size_t first = 0, n = 0;
        assert_int_equal(reco_log_session(&first, &n, log, s), RECO_OK);
        assert_int_equal(first, covered);
        assert_true(n >= 1);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(c.steps[first + k], k);
            assert_int_equal(c.users[first + k], c.users[first]);
            assert_int_equal(c.sessions[first + k], c.sessions[first]);
            if (k + 1 < n)
                assert_int_equal(c.exits[first + k], 0);
        }
        if (s > 0) {
            size_t pf = 0;
            reco_log_session(&pf, NULL, log, s - 1);
            assert_true(c.users[pf] <= c.users[first]);
            if (c.users[pf] == c.users[first]) {
                assert_true(c.timestamps[pf] < c.timestamps[first] ||
                            (c.timestamps[pf] == c.timestamps[first] &&
                             c.sessions[pf] < c.sessions[first]));
            }
        }
        if (s == 0 || c.users[first] != c.users[covered - 1])
            users++;
        covered += n;
    }
    assert_int_equal(covered, c.n_rows);
    assert_int_equal(users, reco_log_n_users(log));
}

static reco_log_row mkrow(uint64_t user, uint64_t session, uint32_t step, int64_t ts, int32_t item,
                          uint32_t fb, int ex)
{
    reco_log_row r = RECO_LOG_ROW_INIT;
    r.user = user;
    r.session = session;
    r.step = step;
    r.timestamp = ts;
    r.item = item;
    r.feedback = fb;
    r.exit = ex;
    return r;
}

/* ---- options ---------------------------------------------------------------------------- */

static void test_log_options_init_matches_macros(void **state)
{
    (void)state;
    reco_log_options a, b = RECO_LOG_OPTIONS_INIT;
    memset(&a, 0xab, sizeof a);
    assert_int_equal(reco_log_options_init(&a, RECO_LOG_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(a.version, b.version);
    assert_ptr_equal(a.allocator, b.allocator);
    assert_int_equal(a.n_signals, b.n_signals);
    assert_ptr_equal(a.signal_names, b.signal_names);
    reco_log_load_options c, d = RECO_LOG_LOAD_OPTIONS_INIT;
    memset(&c, 0xab, sizeof c);
    assert_int_equal(reco_log_load_options_init(&c, RECO_LOG_LOAD_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(c.version, d.version);
    assert_int_equal(c.lenient, d.lenient);
    assert_int_equal(c.n_items, d.n_items);
    assert_int_equal(c.max_rejections, d.max_rejections);
    reco_log_generate_options e, g = RECO_LOG_GENERATE_OPTIONS_INIT;
    memset(&e, 0xab, sizeof e);
    assert_int_equal(reco_log_generate_options_init(&e, RECO_LOG_GENERATE_OPTIONS_VERSION),
                     RECO_OK);
    assert_int_equal(e.version, g.version);
    assert_int_equal(e.n_sessions, g.n_sessions);
    assert_int_equal(e.n_interactions, g.n_interactions);
    assert_ptr_equal(e.users, g.users);
    assert_int_equal(e.n_users, g.n_users);
    assert_int_equal(e.first_user, g.first_user);
    assert_int_equal(e.max_candidates, g.max_candidates);
    assert_int_equal(e.max_steps, g.max_steps);
    assert_int_equal(e.parallel, g.parallel);
    assert_int_equal(e.seed, g.seed);
    assert_true(e.start_time == g.start_time);
    assert_true(e.session_interval == g.session_interval);
    assert_true(e.step_interval == g.step_interval);
    assert_null(e.session_key);
    assert_null(e.session_key_payload);
    assert_reco_error(reco_log_options_init(&a, 0), RECO_EVERSION, "version 0");
    assert_reco_error(reco_log_options_init(&a, RECO_LOG_OPTIONS_VERSION + 1), RECO_EVERSION,
                      "not supported");
    assert_reco_error(reco_log_options_init(NULL, 1), RECO_EINVAL, "NULL");
    assert_reco_error(reco_log_load_options_init(&c, 9), RECO_EVERSION, "not supported");
    assert_reco_error(reco_log_generate_options_init(NULL, 1), RECO_EINVAL, "NULL");
}

static void test_log_create_rejects_bad_signals(void **state)
{
    (void)state;
    reco_log *log = (reco_log *)1;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 0;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "n_signals 0 is out of range");
    assert_null(log);
    o.n_signals = 17;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "[1, 16]");
    const char *bad_digit[] = {"click", "1buy"};
    const char *bad_char[] = {"click", "b-y"};
    const char *bad_empty[] = {"click", ""};
    const char *dup[] = {"click", "click"};
    const char *fixed[] = {"click", "exit"};
    const char *null_name[] = {"click", NULL};
    char long_name[80];
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    const char *too_long[] = {"click", long_name};
    o.n_signals = 2;
    o.signal_names = bad_digit;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "\"1buy\" is not a valid name");
    o.signal_names = bad_char;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "\"b-y\" is not a valid name");
    o.signal_names = bad_empty;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "is not a valid name");
    o.signal_names = dup;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "\"click\" appears twice");
    o.signal_names = fixed;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "\"exit\" is a fixed column");
    o.signal_names = null_name;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "signal_names[1] is NULL");
    o.signal_names = too_long;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "is not a valid name");
    o.version = RECO_LOG_OPTIONS_VERSION + 1;
    assert_reco_error(reco_log_create(&log, &o), RECO_EVERSION, "reco_log_options");
    assert_reco_error(reco_log_create(NULL, NULL), RECO_EINVAL, "out is NULL");
    assert_null(log);
    assert_int_equal(reco_live_handles(), 0);
}

static void test_log_default_signal_names(void **state)
{
    (void)state;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 6;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    const char *want[] = {"click", "long_watch", "like", "hide", "signal4", "signal5"};
    assert_int_equal(reco_log_n_signals(log), 6);
    for (uint32_t f = 0; f < 6; f++)
        assert_string_equal(reco_log_signal_name(log, f), want[f]);
    assert_null(reco_log_signal_name(log, 6));
    assert_null(reco_log_signal_name(NULL, 0));
    assert_string_equal(reco_log_signal_name(log, RECO_SIGNAL_LONG_WATCH), "long_watch");
    assert_int_equal(RECO_N_SIGNALS_DEFAULT, 4);
    assert_int_equal(reco_log_n_rows(log), 0);
    assert_int_equal(reco_log_n_sessions(log), 0);
    assert_int_equal(reco_log_n_users(log), 0);
    reco_log_free(log);
    reco_log_free(NULL);
    reco_log_reset(NULL);
}

/* ---- the bad-CSV corpus ----------------------------------------------------------------- */

/* Reads tests/log/<dir>/expected.txt. */
static size_t read_manifest(manifest_entry *out, size_t cap, const char *dir)
{
    char path[1024];
    data_path(path, sizeof path, dir);
    return corpus_read_manifest(out, cap, path);
}

/* Loads every file of a corpus (tests/log/<dir>) into `log` (which holds the rows of `good`,
 * as `before` does), strictly then leniently, checking the manifest's expectations. */
static void run_corpus(const char *dir, reco_log *log, const reco_log *before, size_t min_files)
{
    static manifest_entry entries[128];
    size_t n = read_manifest(entries, 128, dir);
    assert_true(n >= min_files);
    reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
    lo.n_items = 1000;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const manifest_entry *e = &entries[i];
        char path[1024], rel[200];
        snprintf(rel, sizeof rel, "%s/%.127s", dir, e->file);
        data_path(path, sizeof path, rel);
        int rc = reco_log_load_csv(log, path, &lo);
        failures += !corpus_matches(e, rc, path);
        /* Atomic: a failed load keeps the previous rows. */
        assert_logs_equal(log, before);
    }
    /* Lenient mode rejects the same rows (the header files still fail). */
    lo.lenient = 1;
    for (size_t i = 0; i < n; i++) {
        char path[1024], rel[200];
        snprintf(rel, sizeof rel, "%s/%.127s", dir, entries[i].file);
        data_path(path, sizeof path, rel);
        int rc = reco_log_load_csv(log, path, &lo);
        if (entries[i].line == 1) {
            assert_int_equal(rc, RECO_EFORMAT);
            continue;
        }
        if (rc != RECO_OK)
            fail_msg("%s (lenient): %s", entries[i].file, reco_error_message());
        assert_true(reco_log_n_rejected(log) >= 1);
        reco_error_info info = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_log_rejection(&info, log, 0), RECO_OK);
        assert_non_null(strstr(info.message, entries[i].file));
        assert_canonical(log);
    }
    if (failures > 0)
        fail_msg("%d of %zu corpus files in %s did not fail as expected", failures, n, dir);
}

static void test_log_bad_corpus(void **state)
{
    (void)state;
    reco_log *log = load_good("good/canonical.csv");
    reco_log *before = load_good("good/canonical.csv");
    run_corpus("bad", log, before, 15);
    reco_log_free(log);
    reco_log_free(before);
}

/* Every file of tests/log/<dir> is listed in its expected.txt, once. */
static void check_corpus_complete(const char *rel)
{
    static manifest_entry entries[128];
    size_t n = read_manifest(entries, 128, rel);
    char dir[1024];
    data_path(dir, sizeof dir, rel);
    corpus_check_complete(dir, entries, n);
}

static void test_log_bad_corpus_complete(void **state)
{
    (void)state;
    check_corpus_complete("bad");
    check_corpus_complete("bad_extras");
}

/* ---- CSV round trips -------------------------------------------------------------------- */

static void test_log_csv_round_trip_is_byte_exact(void **state)
{
    fixture *f = *state;
    char src[1024], out[256];
    data_path(src, sizeof src, "good/canonical.csv");
    tmp_path(out, sizeof out, f, "out.csv");
    reco_log *log = load_good("good/canonical.csv");
    assert_int_equal(reco_log_n_rows(log), 10);
    assert_int_equal(reco_log_n_sessions(log), 6);
    assert_int_equal(reco_log_n_users(log), 4);
    assert_int_equal(reco_log_n_rejected(log), 0);
    assert_int_equal(reco_log_save_csv(log, out), RECO_OK);
    assert_files_equal(src, out);
    /* Extremes survive: the largest user id, timestamp and item. */
    reco_log_row r = RECO_LOG_ROW_INIT;
    assert_int_equal(reco_log_get_row(&r, log, 9), RECO_OK);
    assert_true(r.user == UINT64_MAX);
    assert_true(r.timestamp == INT64_MAX);
    assert_int_equal(r.item, INT32_MAX);
    assert_int_equal(r.feedback, 0x7);
    assert_int_equal(r.exit, 1);
    assert_int_equal(reco_log_get_row(&r, log, 5), RECO_OK);
    assert_true(r.timestamp == -50);
    reco_log_free(log);
}

static void test_log_csv_accepts_crlf_bom_shuffled_rows_and_no_final_newline(void **state)
{
    fixture *f = *state;
    char canon[1024], out[256];
    data_path(canon, sizeof canon, "good/canonical.csv");
    tmp_path(out, sizeof out, f, "variants.csv");
    reco_log *log = load_good("good/variants.csv");
    assert_canonical(log);
    assert_int_equal(reco_log_save_csv(log, out), RECO_OK);
    assert_files_equal(canon, out); /* sorted, leading zeros dropped, LF, final newline */
    reco_log_free(log);
}

static void test_log_sessions_are_contiguous_and_in_time_order(void **state)
{
    (void)state;
    reco_log *log = load_good("good/canonical.csv");
    assert_canonical(log);
    /* user 3: session 20 (starts at 100) before session 5 (starts at 500); user 12's two
     * sessions start together, so the smaller id comes first. */
    size_t first, n;
    reco_log_row r = RECO_LOG_ROW_INIT;
    assert_int_equal(reco_log_session(&first, &n, log, 0), RECO_OK);
    assert_int_equal(first, 0);
    assert_int_equal(n, 3);
    reco_log_get_row(&r, log, first);
    assert_int_equal(r.session, 20);
    assert_int_equal(reco_log_session(&first, &n, log, 1), RECO_OK);
    assert_int_equal(first, 3);
    assert_int_equal(n, 2);
    reco_log_get_row(&r, log, first + 1);
    assert_int_equal(r.session, 5);
    assert_int_equal(r.exit, 0); /* a truncated session is allowed */
    assert_int_equal(reco_log_session(&first, &n, log, 3), RECO_OK);
    reco_log_get_row(&r, log, first);
    assert_int_equal(r.user, 12);
    assert_int_equal(r.session, 2);
    assert_reco_error(reco_log_session(&first, &n, log, 6), RECO_EINVAL, "out of range");
    assert_reco_error(reco_log_session(&first, &n, NULL, 0), RECO_EINVAL, "NULL");
    assert_reco_error(reco_log_get_row(&r, log, 10), RECO_EINVAL, "out of range");
    r.version = 0;
    assert_reco_error(reco_log_get_row(&r, log, 0), RECO_EVERSION, "reco_log_row");
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    c.version = 5;
    assert_reco_error(reco_log_get_columns(&c, log), RECO_EVERSION, "reco_log_columns");
    assert_reco_error(reco_log_get_columns(NULL, log), RECO_EINVAL, "NULL");
    reco_log_free(log);
}

static void test_log_custom_signal_names_define_the_header(void **state)
{
    fixture *f = *state;
    const char *names[] = {"click", "buy"};
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 2;
    o.signal_names = names;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    char src[1024], out[256];
    data_path(src, sizeof src, "good/two_signals.csv");
    tmp_path(out, sizeof out, f, "two.csv");
    assert_int_equal(reco_log_load_csv(log, src, NULL), RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 2);
    reco_log_row r = RECO_LOG_ROW_INIT;
    reco_log_get_row(&r, log, 0);
    assert_int_equal(r.feedback, 3);
    assert_int_equal(reco_log_save_csv(log, out), RECO_OK);
    assert_files_equal(src, out);
    /* A file with the default signals does not fit this log, and the error names the
     * column. */
    data_path(src, sizeof src, "good/canonical.csv");
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_reco_error(reco_log_load_csv(log, src, NULL), RECO_EFORMAT,
                      "unknown column \"long_watch\" where \"buy\" belongs");
    reco_error_get(&info);
    assert_int_equal(info.line, 1);
    assert_int_equal(info.column, 40);
    assert_string_equal(info.field, "buy");
    assert_int_equal(reco_log_n_rows(log), 2);
    reco_log_free(log);
}

/* ---- lenient loading -------------------------------------------------------------------- */

static void test_log_lenient_rejects_and_reports_every_bad_row(void **state)
{
    (void)state;
    char src[1024];
    data_path(src, sizeof src, "good/lenient.csv");
    reco_log *log = new_log();
    reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
    /* Strict: the first bad line fails the load. */
    assert_reco_error(reco_log_load_csv(log, src, &lo), RECO_EFORMAT,
                      "lenient.csv:4:11: item: \"abc\" is not a non-negative integer");
    assert_int_equal(reco_log_n_rows(log), 0);
    lo.lenient = 1;
    assert_int_equal(reco_log_load_csv(log, src, &lo), RECO_OK);
    assert_int_equal(reco_error_code(), 0); /* handled errors are cleared */
    /* Kept: sessions (1,1) and (6,1); 11 data lines - 3 kept = 8 rejected. */
    assert_int_equal(reco_log_n_rows(log), 3);
    assert_int_equal(reco_log_n_sessions(log), 2);
    assert_int_equal(reco_log_n_rejected(log), 8);
    assert_int_equal(reco_log_n_rejections(log), 7);
    static const struct {
        unsigned line, column;
        const char *field, *msg;
    } want[] = {
        {4, 11, "item", "\"abc\" is not a non-negative integer"},
        {8, 20, "exit", "expected 10 fields, found 9"},
        {9, 1, "", "empty line"},
        {11, 21, "exit", "\"2\" is not 0 or 1"},
        {5, 1, "session", "user 2, session 1: its row on line 4 was rejected; the session's 1 "
                          "row is rejected"},
        {7, 5, "step", "user 3, session 1: step 1 is missing (the session jumps from step 0 to "
                       "step 2); the session's 2 rows are rejected"},
        {10, 1, "session", "user 5, session 1: its row on line 11 was rejected"},
    };
    for (size_t i = 0; i < 7; i++) {
        reco_error_info e = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_log_rejection(&e, log, i), RECO_OK);
        if (e.line != want[i].line || e.column != want[i].column ||
            strcmp(e.field, want[i].field) != 0 || strstr(e.message, want[i].msg) == NULL)
            fail_msg("rejection %zu: got %u:%u \"%s\" \"%s\"", i, e.line, e.column, e.field,
                     e.message);
        assert_int_equal(e.code, RECO_EFORMAT);
        assert_string_equal(e.source, src);
        assert_non_null(strstr(e.message, "lenient.csv:"));
    }
    reco_error_info e = RECO_ERROR_INFO_INIT;
    assert_reco_error(reco_log_rejection(&e, log, 7), RECO_EINVAL, "out of range");
    assert_canonical(log);

    /* Only the first max_rejections keep details; the count covers all. */
    lo.max_rejections = 2;
    assert_int_equal(reco_log_load_csv(log, src, &lo), RECO_OK);
    assert_int_equal(reco_log_n_rejected(log), 8);
    assert_int_equal(reco_log_n_rejections(log), 2);
    lo.max_rejections = 0;
    assert_int_equal(reco_log_load_csv(log, src, &lo), RECO_OK);
    assert_int_equal(reco_log_n_rejected(log), 8);
    assert_int_equal(reco_log_n_rejections(log), 0);

    /* A later strict load replaces the record; a failed load keeps it. */
    lo.max_rejections = 100;
    assert_int_equal(reco_log_load_csv(log, src, &lo), RECO_OK);
    char bad[1024];
    data_path(bad, sizeof bad, "bad/header_case.csv");
    assert_int_equal(reco_log_load_csv(log, bad, &lo), RECO_EFORMAT);
    assert_int_equal(reco_log_n_rejected(log), 8);
    assert_int_equal(reco_log_n_rows(log), 3);
    char good[1024];
    data_path(good, sizeof good, "good/canonical.csv");
    assert_int_equal(reco_log_load_csv(log, good, NULL), RECO_OK);
    assert_int_equal(reco_log_n_rejected(log), 0);
    assert_int_equal(reco_log_n_rejections(log), 0);
    reco_log_reset(log);
    assert_int_equal(reco_log_n_rows(log), 0);
    assert_int_equal(reco_log_n_sessions(log), 0);
    reco_log_free(log);
}

static void test_log_load_csv_io_errors(void **state)
{
    fixture *f = *state;
    reco_log *log = new_log();
    char path[256];
    tmp_path(path, sizeof path, f, "missing.csv");
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_reco_error(reco_log_load_csv(log, path, NULL), RECO_EIO, "cannot open");
    reco_error_get(&info);
    assert_string_equal(info.source, path);
    assert_reco_error(reco_log_load_csv(log, f->dir, NULL), RECO_EIO, "directory");
    assert_reco_error(reco_log_load_csv(log, "", NULL), RECO_EINVAL, "empty");
    assert_reco_error(reco_log_load_csv(NULL, path, NULL), RECO_EINVAL, "NULL");
    assert_reco_error(reco_log_load_csv(log, NULL, NULL), RECO_EINVAL, "NULL");
    reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
    lo.version = 7;
    assert_reco_error(reco_log_load_csv(log, path, &lo), RECO_EVERSION,
                      "reco_log_load_options");
    /* A header-only file is an empty log. */
    write_all(path, "user,session,step,timestamp,item,click,long_watch,like,hide,exit\n", 65);
    assert_int_equal(reco_log_load_csv(log, path, NULL), RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 0);
    reco_log_free(log);
}

static void test_log_large_csv_streams_through_the_buffer(void **state)
{
    /* 60000 rows (about 1.6 MB, several read buffers) in reverse order. */
    fixture *f = *state;
    char path[256], out[256];
    tmp_path(path, sizeof path, f, "big.csv");
    tmp_path(out, sizeof out, f, "big_out.csv");
    FILE *fp = fopen(path, "w");
    fprintf(fp, "user,session,step,timestamp,item,click,long_watch,like,hide,exit\n");
    for (int u = 1999; u >= 0; u--)
        for (int t = 29; t >= 0; t--)
            fprintf(fp, "%d,%d,%d,%d,%d,%d,0,0,0,%d\n", u, u * 3, t, 1000 + t, (u * 31 + t) % 500,
                    t % 2, t == 29);
    fclose(fp);
    reco_log *log = new_log();
    assert_int_equal(reco_log_load_csv(log, path, NULL), RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 60000);
    assert_int_equal(reco_log_n_sessions(log), 2000);
    assert_int_equal(reco_log_n_users(log), 2000);
    assert_canonical(log);
    reco_log_row r = RECO_LOG_ROW_INIT;
    reco_log_get_row(&r, log, 31);
    assert_int_equal(r.user, 1);
    assert_int_equal(r.step, 1);
    assert_int_equal(reco_log_save_csv(log, out), RECO_OK);
    reco_log *again = new_log();
    assert_int_equal(reco_log_load_csv(again, out, NULL), RECO_OK);
    assert_logs_equal(log, again);
    reco_log_free(log);
    reco_log_free(again);
}

/* ---- appending -------------------------------------------------------------------------- */

static void test_log_append_in_order_and_out_of_order(void **state)
{
    (void)state;
    reco_log *log = new_log();
    /* Whole sessions in canonical order: the fast path. */
    reco_log_row a[] = {mkrow(5, 1, 0, 100, 3, 1, 0), mkrow(5, 1, 1, 110, 4, 0, 1),
                        mkrow(5, 2, 0, 200, 3, 0, 0)};
    assert_int_equal(reco_log_append(log, a, 3), RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 3);
    assert_int_equal(reco_log_n_sessions(log), 2);
    assert_int_equal(reco_log_n_users(log), 1);
    /* Row by row, continuing the last session. */
    reco_log_row b = mkrow(5, 2, 1, 210, 8, 2, 0);
    assert_int_equal(reco_log_append(log, &b, 1), RECO_OK);
    /* A smaller user, and steps that come in reverse within the call: rebuilt. */
    reco_log_row c[] = {mkrow(2, 9, 1, 60, 7, 0, 1), mkrow(2, 9, 0, 50, 6, 1, 0)};
    assert_int_equal(reco_log_append(log, c, 2), RECO_OK);
    /* Extending an earlier session (user 2's) after other users' rows: rebuilt. */
    assert_int_equal(reco_log_append(log, (reco_log_row[]){mkrow(5, 2, 2, 220, 1, 0, 1)}, 1),
                     RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 7);
    assert_int_equal(reco_log_n_sessions(log), 3);
    assert_int_equal(reco_log_n_users(log), 2);
    assert_canonical(log);
    reco_log_row r = RECO_LOG_ROW_INIT;
    reco_log_get_row(&r, log, 0);
    assert_int_equal(r.user, 2);
    assert_int_equal(r.item, 6);
    reco_log_get_row(&r, log, 6);
    assert_int_equal(r.session, 2);
    assert_int_equal(r.step, 2);
    assert_int_equal(r.exit, 1);
    assert_int_equal(reco_log_append(log, NULL, 0), RECO_OK);
    reco_log_free(log);
}

static void test_log_append_rejects_bad_rows_atomically(void **state)
{
    (void)state;
    reco_log *log = new_log();
    reco_log_row base[] = {mkrow(1, 1, 0, 10, 0, 0, 0), mkrow(1, 1, 1, 20, 1, 0, 1),
                           mkrow(3, 1, 0, 10, 0, 0, 0)};
    assert_int_equal(reco_log_append(log, base, 3), RECO_OK);
    reco_log *ref = new_log();
    assert_int_equal(reco_log_append(ref, base, 3), RECO_OK);
    reco_error_info info = RECO_ERROR_INFO_INIT;

    reco_log_row dup[] = {mkrow(3, 1, 1, 20, 0, 0, 0), mkrow(3, 1, 1, 30, 0, 0, 0)};
    assert_reco_error(reco_log_append(log, dup, 2), RECO_EINVAL,
                      "rows[1]: user 3, session 1: step 1 appears twice (also at rows[0])");
    reco_error_get(&info);
    assert_string_equal(info.field, "step");
    reco_log_row dup_old = mkrow(1, 1, 0, 10, 0, 0, 0);
    assert_reco_error(reco_log_append(log, &dup_old, 1), RECO_EINVAL, "step 0 appears twice");
    reco_log_row gap = mkrow(3, 1, 2, 20, 0, 0, 0);
    assert_reco_error(reco_log_append(log, &gap, 1), RECO_EINVAL,
                      "rows[0]: user 3, session 1: step 1 is missing");
    reco_log_row after_exit = mkrow(1, 1, 2, 30, 0, 0, 0);
    assert_reco_error(reco_log_append(log, &after_exit, 1), RECO_EINVAL,
                      "a row already in the log: user 1, session 1: exit is 1 at step 1, but "
                      "the session continues to step 2");
    reco_error_get(&info);
    assert_string_equal(info.field, "exit");
    reco_log_row early[] = {mkrow(8, 1, 0, 10, 0, 0, 1), mkrow(8, 1, 1, 20, 0, 0, 0)};
    assert_reco_error(reco_log_append(log, early, 2), RECO_EINVAL, "exit is 1 at step 0");
    reco_log_row neg = mkrow(9, 1, 0, 10, -1, 0, 0);
    assert_reco_error(reco_log_append(log, &neg, 1), RECO_EINVAL, "rows[0]: item -1 is negative");
    reco_log_row bits = mkrow(9, 1, 0, 10, 1, 0x10, 0);
    assert_reco_error(reco_log_append(log, &bits, 1), RECO_EINVAL, "bits at or above n_signals");
    reco_log_row ex2 = mkrow(9, 1, 0, 10, 1, 0, 2);
    assert_reco_error(reco_log_append(log, &ex2, 1), RECO_EINVAL, "exit 2 is not 0 or 1");
    reco_log_row badv = mkrow(9, 1, 0, 10, 1, 0, 0);
    badv.version = RECO_LOG_ROW_VERSION + 1;
    assert_reco_error(reco_log_append(log, &badv, 1), RECO_EVERSION, "reco_log_row");
    /* A good row followed by a bad one: neither is appended. */
    reco_log_row mixed[] = {mkrow(9, 1, 0, 10, 1, 0, 0), mkrow(9, 1, 0, 10, 1, 0, 0)};
    assert_reco_error(reco_log_append(log, mixed, 2), RECO_EINVAL, "appears twice");
    assert_reco_error(reco_log_append(NULL, mixed, 1), RECO_EINVAL, "log is NULL");
    assert_reco_error(reco_log_append(log, NULL, 1), RECO_EINVAL, "rows is NULL");
    assert_logs_equal(log, ref);
    assert_canonical(log);
    reco_log_free(log);
    reco_log_free(ref);
}

static void test_log_append_fast_path_equals_rebuild(void **state)
{
    (void)state;
    /* The same 5000 random rows appended in canonical order one at a time (fast path) and
     * all at once in shuffled order (rebuild) give identical logs. */
    enum { N = 5000 };
    reco_log_row *rows = calloc(N, sizeof *rows);
    reco_rng rng;
    reco_rng_seed(&rng, 11, 0);
    size_t n = 0;
    for (uint64_t u = 0; n < N; u++) {
        int64_t ts = 0;
        for (uint64_t s = 0; s < 4 && n < N; s++) {
            ts += 1 + (int64_t)reco_rng_below(&rng, 3);
            uint32_t len = 1 + (uint32_t)reco_rng_below(&rng, 6);
            uint64_t sid = reco_rng_below(&rng, 1000) * 4 + s; /* distinct, random order */
            for (uint32_t t = 0; t < len && n < N; t++)
                rows[n++] = mkrow(u * 7, sid, t, ts, (int32_t)reco_rng_below(&rng, 50),
                                  (uint32_t)reco_rng_below(&rng, 16), t + 1 == len);
        }
    }
    /* The canonical order sorts a user's sessions by start time: here, generation order. */
    reco_log *fast = new_log(), *slow = new_log();
    for (size_t i = 0; i < N; i++)
        assert_int_equal(reco_log_append(fast, &rows[i], 1), RECO_OK);
    reco_log_row *shuffled = malloc(N * sizeof *rows);
    uint32_t perm[N];
    reco_rng_permutation(perm, &rng, N);
    for (size_t i = 0; i < N; i++)
        shuffled[i] = rows[perm[i]];
    assert_int_equal(reco_log_append(slow, shuffled, N), RECO_OK);
    assert_logs_equal(fast, slow);
    assert_canonical(fast);
    reco_log_free(fast);
    reco_log_free(slow);
    free(rows);
    free(shuffled);
}

/* ---- splitting -------------------------------------------------------------------------- */

static reco_log *synthetic_log(size_t users, uint64_t seed)
{
    reco_log *log = new_log();
    reco_rng rng;
    reco_rng_seed(&rng, seed, 1);
    for (uint64_t u = 0; u < users; u++) {
        for (uint64_t s = 0; s < 2; s++) {
            uint32_t len = 1 + (uint32_t)reco_rng_below(&rng, 5);
            for (uint32_t t = 0; t < len; t++) {
                reco_log_row r = mkrow(u * 13 + 1, s, t, (int64_t)(s * 1000 + t), (int32_t)(u % 17),
                                       (uint32_t)reco_rng_below(&rng, 16), t + 1 == len);
                assert_int_equal(reco_log_append(log, &r, 1), RECO_OK);
            }
        }
    }
    return log;
}

static void test_log_split_by_user_is_deterministic_and_disjoint(void **state)
{
    (void)state;
    reco_log *log = synthetic_log(1000, 3);
    reco_log *t = NULL, *v = NULL, *t2 = NULL, *v2 = NULL;
    assert_int_equal(reco_log_split(&t, &v, log, 0.3, 42), RECO_OK);
    assert_int_equal(reco_log_n_rows(t) + reco_log_n_rows(v), reco_log_n_rows(log));
    assert_int_equal(reco_log_n_sessions(t) + reco_log_n_sessions(v), reco_log_n_sessions(log));
    assert_int_equal(reco_log_n_users(t) + reco_log_n_users(v), 1000);
    /* About 30% of the users (binomial sd ~ 14.5). */
    assert_true(reco_log_n_users(v) > 240 && reco_log_n_users(v) < 360);
    assert_canonical(t);
    assert_canonical(v);
    reco_log_columns ct = RECO_LOG_COLUMNS_INIT, cv = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&ct, t);
    reco_log_get_columns(&cv, v);
    for (size_t i = 0; i < cv.n_rows; i++)
        for (size_t j = 0; j < ct.n_rows; j += 97)
            assert_true(cv.users[i] != ct.users[j]);
    /* Same seed, same split; the signals carry over. */
    assert_int_equal(reco_log_split(&t2, &v2, log, 0.3, 42), RECO_OK);
    assert_logs_equal(t, t2);
    assert_logs_equal(v, v2);
    assert_string_equal(reco_log_signal_name(v, 3), "hide");
    reco_log_free(t2);
    reco_log_free(v2);
    /* Growing the fraction only moves users into validation. */
    assert_int_equal(reco_log_split(&t2, &v2, log, 0.5, 42), RECO_OK);
    reco_log_columns c5 = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c5, v2);
    size_t k = 0;
    for (size_t i = 0; i < cv.n_rows; i++) {
        while (k < c5.n_rows && c5.users[k] < cv.users[i])
            k++;
        assert_true(k < c5.n_rows && c5.users[k] == cv.users[i]);
    }
    reco_log_free(t2);
    reco_log_free(v2);
    /* Another seed, another split. */
    assert_int_equal(reco_log_split(&t2, &v2, log, 0.3, 43), RECO_OK);
    assert_true(reco_log_n_rows(v2) != reco_log_n_rows(v) ||
                memcmp(c5.users, cv.users, 8) != 0);
    reco_log_free(t2);
    reco_log_free(v2);
    /* Fractions 0 and 1. */
    assert_int_equal(reco_log_split(&t2, &v2, log, 0.0, 1), RECO_OK);
    assert_int_equal(reco_log_n_rows(v2), 0);
    assert_int_equal(reco_log_n_rows(t2), reco_log_n_rows(log));
    reco_log_free(t2);
    reco_log_free(v2);
    assert_int_equal(reco_log_split(&t2, &v2, log, 1.0, 1), RECO_OK);
    assert_int_equal(reco_log_n_rows(t2), 0);
    assert_logs_equal(v2, log);
    reco_log_free(t2);
    reco_log_free(v2);
    assert_reco_error(reco_log_split(&t2, &v2, log, NAN, 1), RECO_EINVAL, "is not in [0, 1]");
    assert_null(t2);
    assert_null(v2);
    assert_reco_error(reco_log_split(&t2, &v2, log, 1.5, 1), RECO_EINVAL, "is not in [0, 1]");
    assert_reco_error(reco_log_split(&t2, &v2, log, -0.1, 1), RECO_EINVAL, "is not in [0, 1]");
    assert_reco_error(reco_log_split(NULL, &v2, log, 0.1, 1), RECO_EINVAL, "NULL");
    assert_reco_error(reco_log_split(&t2, &t2, log, 0.1, 1), RECO_EINVAL, "the same");
    reco_log_free(t);
    reco_log_free(v);
    reco_log_free(log);
}

/* ---- binary ----------------------------------------------------------------------------- */

static void test_log_binary_round_trip_is_exact(void **state)
{
    fixture *f = *state;
    char bin[256], bin2[256], csv[256], canon[1024];
    tmp_path(bin, sizeof bin, f, "log.bin");
    tmp_path(bin2, sizeof bin2, f, "log2.bin");
    tmp_path(csv, sizeof csv, f, "log.csv");
    data_path(canon, sizeof canon, "good/canonical.csv");
    reco_log *log = load_good("good/canonical.csv");
    assert_int_equal(reco_log_save(log, bin), RECO_OK);
    reco_log *back = new_log();
    assert_int_equal(reco_log_load(back, bin, NULL), RECO_OK);
    assert_logs_equal(log, back);
    assert_int_equal(reco_log_save(back, bin2), RECO_OK);
    assert_files_equal(bin, bin2);
    assert_int_equal(reco_log_save_csv(back, csv), RECO_OK);
    assert_files_equal(canon, csv);
    /* Compact: about 16 bytes per row and 20 per session, plus the container. */
    struct stat st;
    stat(bin, &st);
    assert_true(st.st_size < 10 * 16 + 6 * 20 + 400);
    /* A bigger log and an empty one. */
    reco_log *big = synthetic_log(500, 9), *big2 = new_log();
    assert_int_equal(reco_log_save(big, bin), RECO_OK);
    assert_int_equal(reco_log_load(big2, bin, NULL), RECO_OK);
    assert_logs_equal(big, big2);
    reco_log *empty = new_log();
    assert_int_equal(reco_log_save(empty, bin), RECO_OK);
    assert_int_equal(reco_log_load(big2, bin, NULL), RECO_OK);
    assert_int_equal(reco_log_n_rows(big2), 0);
    assert_reco_error(reco_log_save(NULL, bin), RECO_EINVAL, "NULL");
    reco_log_free(empty);
    reco_log_free(big);
    reco_log_free(big2);
    reco_log_free(log);
    reco_log_free(back);
}

static void test_log_binary_refuses_damaged_files(void **state)
{
    fixture *f = *state;
    char bin[256], bad[256];
    tmp_path(bin, sizeof bin, f, "log.bin");
    tmp_path(bad, sizeof bad, f, "bad.bin");
    reco_log *log = synthetic_log(50, 5);
    assert_int_equal(reco_log_save(log, bin), RECO_OK);
    size_t n;
    char *bytes = read_all(bin, &n);
    reco_log *dst = load_good("good/canonical.csv");
    reco_log *ref = load_good("good/canonical.csv");
    /* Every single-byte change is refused and leaves the log as it was. */
    for (size_t i = 0; i < n; i += (i < 64 ? 1 : 7)) {
        bytes[i] ^= 0x20;
        write_all(bad, bytes, n);
        bytes[i] ^= 0x20;
        int rc = reco_log_load(dst, bad, NULL);
        if (rc != RECO_EFORMAT)
            fail_msg("flipping byte %zu: got %s (%s)", i, reco_status_name(rc),
                     reco_error_message());
    }
    /* Truncation at any length. */
    for (size_t len = 0; len < n; len += (len < 48 ? 1 : 13)) {
        write_all(bad, bytes, len);
        int rc = reco_log_load(dst, bad, NULL);
        if (rc != RECO_EFORMAT)
            fail_msg("truncated to %zu: got %s (%s)", len, reco_status_name(rc),
                     reco_error_message());
    }
    assert_logs_equal(dst, ref);
    /* A CSV file is not a log file. */
    char csv[1024];
    data_path(csv, sizeof csv, "good/canonical.csv");
    assert_reco_error(reco_log_load(dst, csv, NULL), RECO_EFORMAT, "not a RECOLOG1 file");
    tmp_path(bad, sizeof bad, f, "nothing.bin");
    assert_reco_error(reco_log_load(dst, bad, NULL), RECO_EIO, "nothing.bin");
    assert_logs_equal(dst, ref);
    free(bytes);
    reco_log_free(log);
    reco_log_free(dst);
    reco_log_free(ref);
}

static void test_log_binary_checks_signals_and_catalog(void **state)
{
    fixture *f = *state;
    char bin[256];
    tmp_path(bin, sizeof bin, f, "log.bin");
    reco_log *log = load_good("good/canonical.csv");
    assert_int_equal(reco_log_save(log, bin), RECO_OK);
    const char *names[] = {"click", "buy"};
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 2;
    o.signal_names = names;
    reco_log *two = NULL;
    assert_int_equal(reco_log_create(&two, &o), RECO_OK);
    assert_reco_error(reco_log_load(two, bin, NULL), RECO_EFORMAT,
                      "the file's signals are \"click,long_watch,like,hide\", the log's are "
                      "\"click,buy\"");
    reco_log *d = new_log();
    reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
    lo.n_items = 100;
    assert_reco_error(reco_log_load(d, bin, &lo), RECO_EFORMAT, "item 2147483647 is out of range");
    lo.n_items = 0;
    assert_int_equal(reco_log_load(d, bin, &lo), RECO_OK);
    reco_log_free(two);
    reco_log_free(d);
    reco_log_free(log);
}

static void test_log_save_is_atomic_and_reports_io_errors(void **state)
{
    fixture *f = *state;
    reco_log *log = load_good("good/canonical.csv");
    char path[256];
    tmp_path(path, sizeof path, f, "no/such/dir/out.csv");
    assert_reco_error(reco_log_save_csv(log, path), RECO_EIO, "out.csv");
    assert_reco_error(reco_log_save(log, path), RECO_EIO, "out.csv");
    assert_reco_error(reco_log_save_csv(log, ""), RECO_EINVAL, "empty");
    assert_reco_error(reco_log_save_csv(NULL, "x"), RECO_EINVAL, "NULL");
    /* Saving over a directory fails and leaves no temporary file behind. */
    char sub[256];
    tmp_path(sub, sizeof sub, f, "sub");
    mkdir(sub, 0777);
    assert_reco_error(reco_log_save_csv(log, sub), RECO_EIO, "sub");
    DIR *d = opendir(f->dir);
    struct dirent *ent;
    int entries = 0;
    while ((ent = readdir(d)) != NULL)
        entries += ent->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1); /* just sub/ */
    reco_log_free(log);
}

/* ---- optional columns (0.2): user features, propensity, oracle ---------------------------- */

static const char *const ex_signals[] = {"click", "buy"};
static const char *const ex_features[] = {"age", "score"};

/* The schema of tests/log/good/extras.csv and tests/log/bad_extras. */
static reco_log *new_extras_log(void)
{
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 2;
    o.signal_names = ex_signals;
    o.user_dim = 2;
    o.user_feature_names = ex_features;
    o.propensity = 1;
    o.oracle = 1;
    reco_log *log = NULL;
    if (reco_log_create(&log, &o) != RECO_OK)
        fail_msg("%s", reco_error_message());
    return log;
}

static reco_log *load_extras(const char *rel)
{
    char path[1024];
    data_path(path, sizeof path, rel);
    reco_log *log = new_extras_log();
    if (reco_log_load_csv(log, path, NULL) != RECO_OK)
        fail_msg("%s: %s", rel, reco_error_message());
    return log;
}

/* Same bits, NaN included (an unknown value is always the same NaN). */
static void assert_same_floats(const float *a, const float *b, size_t n)
{
    if (n == 0)
        return;
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a, b, n * sizeof(float));
}

static void assert_extras_equal(const reco_log *a, const reco_log *b)
{
    assert_logs_equal(a, b);
    reco_log_columns x = RECO_LOG_COLUMNS_INIT, y = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&x, a), RECO_OK);
    assert_int_equal(reco_log_get_columns(&y, b), RECO_OK);
    assert_int_equal(reco_log_user_dim(a), reco_log_user_dim(b));
    assert_int_equal(reco_log_has_propensity(a), reco_log_has_propensity(b));
    assert_int_equal(reco_log_has_oracle(a), reco_log_has_oracle(b));
    const size_t n = x.n_rows, U = reco_log_user_dim(a), F1 = reco_log_n_signals(a) + 1;
    if (reco_log_has_propensity(a))
        assert_same_floats(x.propensity, y.propensity, n);
    if (U > 0)
        assert_same_floats(x.user_features, y.user_features, n * U);
    if (reco_log_has_oracle(a))
        assert_same_floats(x.oracle, y.oracle, n * F1);
}

/* reco_log_row and reco_log_columns as libreco 0.1 declared them. */
typedef struct row_v1 {
    unsigned int version;
    uint64_t user, session;
    uint32_t step;
    int64_t timestamp;
    int32_t item;
    uint32_t feedback;
    int exit;
} row_v1;

static void test_log_options_version_2(void **state)
{
    (void)state;
    /* The macro and the function agree; version 1 is initialised only to its end. */
    reco_log_options a, b = RECO_LOG_OPTIONS_INIT;
    memset(&a, 0xab, sizeof a);
    assert_int_equal(reco_log_options_init(&a, 2), RECO_OK);
    assert_int_equal(a.user_dim, b.user_dim);
    assert_ptr_equal(a.user_feature_names, b.user_feature_names);
    assert_int_equal(a.propensity, b.propensity);
    assert_int_equal(a.oracle, b.oracle);
    assert_int_equal(b.user_dim, 0);
    assert_int_equal(b.propensity, 0);
    assert_int_equal(b.oracle, 0);
    const size_t v1 = offsetof(reco_log_options, user_dim);
    unsigned char buf[sizeof(reco_log_options) + 16];
    memset(buf, 0xab, sizeof buf);
    assert_int_equal(reco_log_options_init((reco_log_options *)(void *)buf, 1), RECO_OK);
    for (size_t i = v1; i < sizeof buf; i++)
        if (buf[i] != 0xab)
            fail_msg("reco_log_options_init(version 1) wrote byte %zu (a version-1 struct has "
                     "%zu)", i, v1);
    /* A version-1 struct is read only to its end: garbage after it is not user_dim. */
    reco_log_options *o1 = (reco_log_options *)(void *)buf;
    o1->n_signals = 4;
    o1->signal_names = NULL;
    o1->allocator = NULL;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, o1), RECO_OK);
    assert_int_equal(reco_log_user_dim(log), 0);
    assert_int_equal(reco_log_has_propensity(log), 0);
    assert_int_equal(reco_log_has_oracle(log), 0);
    reco_log_free(log);
    /* Defaults of the optional columns: names u0, u1, ...; the getters. */
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.user_dim = 3;
    o.propensity = 7; /* any nonzero value */
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    assert_int_equal(reco_log_user_dim(log), 3);
    assert_string_equal(reco_log_user_feature_name(log, 0), "u0");
    assert_string_equal(reco_log_user_feature_name(log, 2), "u2");
    assert_null(reco_log_user_feature_name(log, 3));
    assert_int_equal(reco_log_has_propensity(log), 1);
    assert_int_equal(reco_log_has_oracle(log), 0);
    reco_log_free(log);
    assert_int_equal(reco_log_user_dim(NULL), 0);
    assert_null(reco_log_user_feature_name(NULL, 0));
    assert_int_equal(reco_log_has_propensity(NULL), 0);
    assert_int_equal(reco_log_has_oracle(NULL), 0);
    /* The row initialiser: unknown propensity and oracle, no user features. */
    reco_log_row r = RECO_LOG_ROW_INIT;
    assert_int_equal(r.version, RECO_LOG_ROW_VERSION);
    assert_null(r.user_features);
    assert_true(isnan(r.propensity));
    for (int k = 0; k <= RECO_LOG_MAX_SIGNALS; k++)
        assert_true(isnan(r.oracle[k]));
    assert_int_equal(offsetof(reco_log_row, user_features), sizeof(row_v1));
}

static void test_log_create_checks_the_optional_columns(void **state)
{
    (void)state;
    reco_log *log = (reco_log *)1;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.user_dim = RECO_LOG_MAX_USER_DIM + 1;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_dim 4097 is out of range [0, 4096]");
    assert_null(log);
    reco_error_info info = RECO_ERROR_INFO_INIT;
    reco_error_get(&info);
    assert_string_equal(info.field, "user_dim");
    o.user_dim = 2;
    const char *null_name[] = {"age", NULL};
    o.user_feature_names = null_name;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL, "user_feature_names[1] is NULL");
    const char *bad[] = {"age", "2nd"};
    o.user_feature_names = bad;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_feature_names[1] \"2nd\" is not a valid name");
    const char *dup[] = {"age", "age"};
    o.user_feature_names = dup;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_feature_names[1] \"age\" is also the name of "
                      "user_feature_names[0]");
    reco_error_get(&info);
    assert_string_equal(info.field, "user_feature_names");
    const char *signal[] = {"age", "click"};
    o.user_feature_names = signal;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_feature_names[1] \"click\" is also the name of signal_names[0]");
    const char *fixed[] = {"timestamp", "x"};
    o.user_feature_names = fixed;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_feature_names[0] \"timestamp\" is also the name of the timestamp "
                      "column");
    const char *prop[] = {"propensity", "x"};
    o.user_feature_names = prop;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK); /* no propensity column: allowed */
    reco_log_free(log);
    o.propensity = 1;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_feature_names[0] \"propensity\" is also the name of the propensity "
                      "column");
    const char *oracle[] = {"p_exit", "x"};
    o.user_feature_names = oracle;
    o.oracle = 1;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_feature_names[0] \"p_exit\" is also the name of the p_exit column");
    /* A signal that collides with another signal's oracle column. */
    const char *sigs[] = {"click", "p_click"};
    o.user_dim = 0;
    o.n_signals = 2;
    o.signal_names = sigs;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "signal_names[1] \"p_click\" is also the name of the p_click column");
    reco_error_get(&info);
    assert_string_equal(info.field, "signal_names");
    o.oracle = 0;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    reco_log_free(log);
    /* Default user feature names collide with a signal named u0. */
    const char *u0[] = {"u0"};
    o.n_signals = 1;
    o.signal_names = u0;
    o.user_dim = 1;
    o.user_feature_names = NULL;
    assert_reco_error(reco_log_create(&log, &o), RECO_EINVAL,
                      "user_feature_names[0] \"u0\" is also the name of signal_names[0]");
    assert_int_equal(reco_live_handles(), 0);
}

static void test_log_version_1_row_and_columns_are_not_written_past(void **state)
{
    (void)state;
    reco_log *log = load_extras("good/extras.csv");
    /* reco_log_get_row with a version-1 struct: the bytes after it keep their guard. */
    unsigned char buf[sizeof(reco_log_row) + 32];
    memset(buf, 0x5a, sizeof buf);
    row_v1 *r1 = (row_v1 *)(void *)buf;
    r1->version = 1;
    assert_int_equal(reco_log_get_row((reco_log_row *)(void *)buf, log, 3), RECO_OK);
    assert_int_equal(r1->user, 2);
    assert_int_equal(r1->item, 3);
    assert_int_equal(r1->feedback, 2);
    for (size_t i = sizeof(row_v1); i < sizeof buf; i++)
        if (buf[i] != 0x5a)
            fail_msg("reco_log_get_row(version 1) wrote byte %zu (a version-1 row has %zu)", i,
                     sizeof(row_v1));
    /* reco_log_get_columns likewise. */
    const size_t c1 = offsetof(reco_log_columns, propensity);
    unsigned char cbuf[sizeof(reco_log_columns) + 32];
    memset(cbuf, 0x5a, sizeof cbuf);
    ((reco_log_columns *)(void *)cbuf)->version = 1;
    assert_int_equal(reco_log_get_columns((reco_log_columns *)(void *)cbuf, log), RECO_OK);
    assert_int_equal(((reco_log_columns *)(void *)cbuf)->n_rows, 6);
    for (size_t i = c1; i < sizeof cbuf; i++)
        if (cbuf[i] != 0x5a)
            fail_msg("reco_log_get_columns(version 1) wrote byte %zu (a version-1 struct has "
                     "%zu)", i, c1);
    /* Version 2: the optional columns, borrowed, and the row pointing into them. */
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    assert_non_null(c.propensity);
    assert_non_null(c.user_features);
    assert_non_null(c.oracle);
    reco_log_row r = RECO_LOG_ROW_INIT;
    assert_int_equal(reco_log_get_row(&r, log, 3), RECO_OK);
    assert_ptr_equal(r.user_features, c.user_features + 3 * 2);
    assert_true(r.propensity == 0.0001f);
    assert_true(r.oracle[0] == 0.999999f);
    assert_true(r.oracle[1] == 1.0f / 3.0f);
    assert_true(r.oracle[2] == 0.5f);
    for (int k = 3; k <= RECO_LOG_MAX_SIGNALS; k++)
        assert_true(isnan(r.oracle[k]));
    assert_true(r.user_features[0] == 0.0f && signbit(r.user_features[0]));
    assert_true(r.user_features[1] == 123456792.0f);
    /* A log without the columns: NULL pointers and unknown values. */
    reco_log *plain = load_good("good/canonical.csv");
    assert_int_equal(reco_log_get_columns(&c, plain), RECO_OK);
    assert_null(c.propensity);
    assert_null(c.user_features);
    assert_null(c.oracle);
    r.user_features = (const float *)buf;
    r.propensity = 0.5f;
    assert_int_equal(reco_log_get_row(&r, plain, 0), RECO_OK);
    assert_null(r.user_features);
    assert_true(isnan(r.propensity));
    for (int k = 0; k <= RECO_LOG_MAX_SIGNALS; k++)
        assert_true(isnan(r.oracle[k]));
    r.version = RECO_LOG_ROW_VERSION + 1;
    assert_reco_error(reco_log_get_row(&r, plain, 0), RECO_EVERSION, "reco_log_row");
    c.version = RECO_LOG_COLUMNS_VERSION + 1;
    assert_reco_error(reco_log_get_columns(&c, plain), RECO_EVERSION, "reco_log_columns");
    reco_log_free(plain);
    reco_log_free(log);
}

static void test_log_csv_optional_columns_round_trip_byte_for_byte(void **state)
{
    fixture *f = *state;
    char src[1024], out[256];
    data_path(src, sizeof src, "good/extras.csv");
    tmp_path(out, sizeof out, f, "extras.csv");
    reco_log *log = load_extras("good/extras.csv");
    assert_int_equal(reco_log_n_rows(log), 6);
    assert_int_equal(reco_log_n_sessions(log), 4);
    assert_int_equal(reco_log_save_csv(log, out), RECO_OK);
    assert_files_equal(src, out);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c, log);
    /* Empty fields are unknown; every float is exact. */
    assert_true(c.propensity[0] == 0.5f);
    assert_true(isnan(c.propensity[1]));
    assert_true(isnan(c.oracle[1 * 3 + 1]));
    assert_true(c.oracle[1 * 3 + 2] == 1.0f);
    assert_true(c.user_features[1 * 2 + 1] == -1.5e-7f);
    assert_true(c.user_features[4 * 2 + 0] == 1.4e-45f); /* the smallest subnormal */
    assert_true(c.user_features[4 * 2 + 1] == FLT_MAX);
    assert_true(c.user_features[5 * 2 + 1] == 1e10f);
    assert_true(c.propensity[4] == 1e-6f);
    /* Other spellings of the same values, shuffled, CRLF and a BOM: the canonical bytes. */
    reco_log *v = load_extras("good/extras_variants.csv");
    assert_extras_equal(log, v);
    assert_int_equal(reco_log_save_csv(v, out), RECO_OK);
    assert_files_equal(src, out);
    /* A header-only file is an empty log; a file without the optional columns does not fit. */
    char path[256];
    tmp_path(path, sizeof path, f, "empty.csv");
    const char *h = "user,session,step,timestamp,item,click,buy,exit,propensity,p_click,p_buy,"
                    "p_exit,age,score\n";
    write_all(path, h, strlen(h));
    assert_int_equal(reco_log_load_csv(v, path, NULL), RECO_OK);
    assert_int_equal(reco_log_n_rows(v), 0);
    data_path(path, sizeof path, "good/two_signals.csv");
    assert_reco_error(reco_log_load_csv(v, path, NULL), RECO_EFORMAT,
                      "missing column \"propensity\" at the end of the header");
    reco_log_free(v);
    reco_log_free(log);
}

static void test_log_bad_extras_corpus(void **state)
{
    (void)state;
    reco_log *log = load_extras("good/extras.csv");
    reco_log *before = load_extras("good/extras.csv");
    run_corpus("bad_extras", log, before, 20);
    reco_log_free(log);
    reco_log_free(before);
}

static void test_log_lenient_optional_columns(void **state)
{
    fixture *f = *state;
    char path[256];
    tmp_path(path, sizeof path, f, "lenient.csv");
    const char *text =
        "user,session,step,timestamp,item,click,buy,exit,propensity,p_click,p_buy,p_exit,age,"
        "score\n"
        "1,1,0,10,5,1,0,0,0.5,,,,1,2\n"     /* kept */
        "1,1,1,20,6,0,0,1,0.25,,,,1,2\n"    /* kept */
        "2,1,0,10,5,1,0,0,0,,,,1,2\n"       /* propensity 0: rejected */
        "2,1,1,20,6,0,0,1,0.5,,,,1,2\n"     /* its session: rejected */
        "3,1,0,10,5,1,0,0,,0.5,2,,1,2\n"    /* p_buy 2: rejected */
        "4,1,0,10,5,1,0,0,,,,,1,inf\n"      /* score inf: rejected */
        "5,1,0,10,5,1,0,1,1,1,1,1,-1,-2\n"; /* kept */
    write_all(path, text, strlen(text));
    reco_log *log = new_extras_log();
    assert_reco_error(reco_log_load_csv(log, path, NULL), RECO_EFORMAT,
                      "lenient.csv:4:18: propensity: \"0\" is not in (0, 1]");
    reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
    lo.lenient = 1;
    assert_int_equal(reco_log_load_csv(log, path, &lo), RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 3);
    assert_int_equal(reco_log_n_rejected(log), 4);
    assert_int_equal(reco_log_n_rejections(log), 4);
    static const struct {
        unsigned line, column;
        const char *field, *msg;
    } want[] = {
        {4, 18, "propensity", "\"0\" is not in (0, 1]"},
        {6, 23, "p_buy", "\"2\" is not in [0, 1]"},
        {7, 24, "score", "\"inf\" is not a finite number"},
        {5, 1, "session", "user 2, session 1: its row on line 4 was rejected"},
    };
    for (size_t i = 0; i < 4; i++) {
        reco_error_info e = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_log_rejection(&e, log, i), RECO_OK);
        if (e.line != want[i].line || e.column != want[i].column ||
            strcmp(e.field, want[i].field) != 0 || strstr(e.message, want[i].msg) == NULL)
            fail_msg("rejection %zu: got %u:%u \"%s\" \"%s\"", i, e.line, e.column, e.field,
                     e.message);
    }
    /* The kept rows keep their own values (row-aligned after the rejections). */
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c, log);
    assert_int_equal(c.users[2], 5);
    assert_true(c.propensity[1] == 0.25f);
    assert_true(c.propensity[2] == 1.0f);
    assert_true(c.user_features[2 * 2 + 0] == -1.0f && c.user_features[2 * 2 + 1] == -2.0f);
    assert_true(c.oracle[2 * 3 + 2] == 1.0f);
    reco_log_free(log);
}

/* Rows of a log with every optional column whose values follow from (user, session, step),
 * so that misaligned columns show. */
static float ex_feature(uint64_t u, uint64_t s, uint32_t t, uint32_t k)
{
    return (float)(u * 1000 + s * 10 + t) + 0.25f * (float)k;
}

static float ex_prop(uint64_t u, uint32_t t)
{
    return 1.0f / (float)(1 + (u + t) % 7);
}

static void ex_fill(reco_log_row *r, float *feat, uint64_t u, uint64_t s, uint32_t t, int last)
{
    *r = mkrow(u, s, t, (int64_t)(s * 100 + t), (int32_t)((u + t) % 11), (uint32_t)(t % 4) & 3u,
               last);
    feat[0] = ex_feature(u, s, t, 0);
    feat[1] = ex_feature(u, s, t, 1);
    r->user_features = feat;
    r->propensity = (u + t) % 5 == 0 ? NAN : ex_prop(u, t);
    r->oracle[0] = (float)(t % 3) / 2.0f;
    r->oracle[1] = (float)(u % 5) / 4.0f;
    r->oracle[2] = last ? 1.0f : 0.0f;
}

static void assert_extras_follow_rows(const reco_log *log)
{
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    for (size_t i = 0; i < c.n_rows; i++) {
        const uint64_t u = c.users[i], s = c.sessions[i];
        const uint32_t t = c.steps[i];
        if (c.user_features[2 * i] != ex_feature(u, s, t, 0) ||
            c.user_features[2 * i + 1] != ex_feature(u, s, t, 1))
            fail_msg("row %zu (user %llu, session %llu, step %u): features %g %g", i,
                     (unsigned long long)u, (unsigned long long)s, t,
                     (double)c.user_features[2 * i], (double)c.user_features[2 * i + 1]);
        if ((u + t) % 5 == 0)
            assert_true(isnan(c.propensity[i]));
        else
            assert_true(c.propensity[i] == ex_prop(u, t));
        assert_true(c.oracle[3 * i] == (float)(t % 3) / 2.0f);
        assert_true(c.oracle[3 * i + 1] == (float)(u % 5) / 4.0f);
        assert_true(c.oracle[3 * i + 2] == (c.exits[i] ? 1.0f : 0.0f));
    }
}

static void test_log_append_carries_the_optional_columns(void **state)
{
    (void)state;
    reco_log *log = new_extras_log();
    reco_log_row rows[8];
    float feat[8][2];
    /* In canonical order (the fast path) ... */
    ex_fill(&rows[0], feat[0], 5, 1, 0, 0);
    ex_fill(&rows[1], feat[1], 5, 1, 1, 1);
    ex_fill(&rows[2], feat[2], 9, 2, 0, 0);
    assert_int_equal(reco_log_append(log, rows, 3), RECO_OK);
    /* ... then out of order (a rebuild): steps reversed, an earlier user. */
    ex_fill(&rows[0], feat[0], 9, 2, 2, 1);
    ex_fill(&rows[1], feat[1], 9, 2, 1, 0);
    ex_fill(&rows[2], feat[2], 2, 7, 0, 1);
    assert_int_equal(reco_log_append(log, rows, 3), RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 6);
    assert_canonical(log);
    assert_extras_follow_rows(log);
    reco_log_row got = RECO_LOG_ROW_INIT;
    reco_log_get_row(&got, log, 0);
    assert_int_equal(got.user, 2);
    assert_true(got.user_features[0] == ex_feature(2, 7, 0, 0));

    /* Refused rows: nothing is appended. */
    const size_t n0 = reco_log_n_rows(log);
    reco_log_row r;
    float fv[2];
    ex_fill(&r, fv, 20, 1, 0, 0);
    r.user_features = NULL;
    assert_reco_error(reco_log_append(log, &r, 1), RECO_EINVAL,
                      "rows[0]: user_features is NULL, and the log has 2 user features");
    ex_fill(&r, fv, 20, 1, 0, 0);
    fv[1] = NAN;
    assert_reco_error(reco_log_append(log, &r, 1), RECO_EINVAL,
                      "rows[0]: user_features[1] (\"score\") is nan, not a finite number");
    ex_fill(&r, fv, 20, 1, 0, 0);
    r.propensity = 0.0f;
    assert_reco_error(reco_log_append(log, &r, 1), RECO_EINVAL,
                      "rows[0]: propensity 0 is not in (0, 1] (NaN: unknown)");
    r.propensity = 1.5f;
    assert_reco_error(reco_log_append(log, &r, 1), RECO_EINVAL, "propensity 1.5 is not in");
    r.propensity = 1.0f;
    r.oracle[1] = 1.25f;
    assert_reco_error(reco_log_append(log, &r, 1), RECO_EINVAL,
                      "rows[0]: oracle[1] (\"p_buy\") 1.25 is not in [0, 1]");
    r.oracle[1] = -0.5f;
    assert_reco_error(reco_log_append(log, &r, 1), RECO_EINVAL, "-0.5 is not in [0, 1]");
    r.oracle[1] = 0.5f;
    r.oracle[3] = 0.5f; /* past F = 2: oracle[2] is the exit */
    assert_reco_error(reco_log_append(log, &r, 1), RECO_EINVAL,
                      "rows[0]: oracle[3] is 0.5, but the log's oracle ends at oracle[F]");
    reco_error_info info = RECO_ERROR_INFO_INIT;
    reco_error_get(&info);
    assert_string_equal(info.field, "oracle");
    r.oracle[3] = NAN;
    /* Rows of two versions in one array. */
    reco_log_row two[2];
    ex_fill(&two[0], fv, 20, 1, 0, 0);
    two[1] = two[0];
    two[1].step = 1;
    two[1].version = 1;
    assert_reco_error(reco_log_append(log, two, 2), RECO_EINVAL,
                      "rows[1]: version 1 differs from rows[0]'s version 3");
    /* A version-1 row has no user features. */
    row_v1 old = {1, 20, 1, 0, 5, 3, 0, 0};
    assert_reco_error(reco_log_append(log, (const reco_log_row *)(const void *)&old, 1),
                      RECO_EINVAL, "rows[0] is a version-1 reco_log_row, which has no user "
                      "features, and the log has 2 (user_dim)");
    assert_int_equal(reco_log_n_rows(log), n0);
    assert_extras_follow_rows(log);

    /* A log without the optional columns refuses values for them. */
    reco_log *plain = new_log();
    reco_log_row p = mkrow(1, 1, 0, 0, 3, 0, 1);
    p.propensity = 0.5f;
    assert_reco_error(reco_log_append(plain, &p, 1), RECO_EINVAL,
                      "propensity 0.5 given, but the log has no propensity column");
    p.propensity = NAN;
    p.user_features = fv;
    assert_reco_error(reco_log_append(plain, &p, 1), RECO_EINVAL,
                      "user_features given, but the log has none");
    p.user_features = NULL;
    p.oracle[0] = 0.5f;
    assert_reco_error(reco_log_append(plain, &p, 1), RECO_EINVAL,
                      "oracle[0] is 0.5, but the log has no oracle columns");
    p.oracle[0] = NAN;
    assert_int_equal(reco_log_append(plain, &p, 1), RECO_OK);
    reco_log_free(plain);
    reco_log_free(log);
}

static void test_log_append_version_1_arrays(void **state)
{
    (void)state;
    /* An array of version-1 rows has their size as its stride: a library that stepped by
     * the version-2 size would read the second row from the middle of the first. */
    row_v1 old[3] = {
        {1, 4, 1, 0, 10, 3, 1, 0}, {1, 4, 1, 1, 20, 5, 0, 1}, {1, 6, 2, 0, 30, 7, 2, 1}};
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.propensity = 1;
    o.oracle = 1;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    assert_int_equal(reco_log_append(log, (const reco_log_row *)(const void *)old, 3), RECO_OK);
    /* the same rows again, out of order: the rebuild path reads them with the same stride */
    row_v1 later[2] = {{1, 3, 9, 0, 5, 1, 0, 1}, {1, 4, 2, 0, 1, 2, 0, 1}};
    assert_int_equal(reco_log_append(log, (const reco_log_row *)(const void *)later, 2),
                     RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 5);
    assert_canonical(log);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c, log);
    static const uint64_t users[] = {3, 4, 4, 4, 6};
    static const int32_t items[] = {1, 2, 3, 5, 7}; /* user 4: session 2 starts first */
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(c.users[i], users[i]);
        assert_int_equal(c.items[i], items[i]);
        assert_true(isnan(c.propensity[i]));
        for (int k = 0; k < 5; k++)
            assert_true(isnan(c.oracle[5 * i + k]));
    }
    reco_log_free(log);
}

static void test_log_split_and_reset_carry_the_optional_columns(void **state)
{
    (void)state;
    reco_log *log = new_extras_log();
    reco_rng rng;
    reco_rng_seed(&rng, 11, 1);
    for (uint64_t u = 0; u < 300; u++)
        for (uint64_t s = 0; s < 2; s++) {
            uint32_t len = 1 + (uint32_t)reco_rng_below(&rng, 4);
            for (uint32_t t = 0; t < len; t++) {
                reco_log_row r;
                float feat[2];
                ex_fill(&r, feat, u * 7 + 1, s, t, t + 1 == len);
                assert_int_equal(reco_log_append(log, &r, 1), RECO_OK);
            }
        }
    assert_extras_follow_rows(log);
    reco_log *t = NULL, *v = NULL;
    assert_int_equal(reco_log_split(&t, &v, log, 0.4, 5), RECO_OK);
    assert_true(reco_log_n_rows(t) > 0 && reco_log_n_rows(v) > 0);
    assert_int_equal(reco_log_n_rows(t) + reco_log_n_rows(v), reco_log_n_rows(log));
    for (int side = 0; side < 2; side++) {
        const reco_log *x = side ? v : t;
        assert_int_equal(reco_log_user_dim(x), 2);
        assert_string_equal(reco_log_user_feature_name(x, 1), "score");
        assert_int_equal(reco_log_has_propensity(x), 1);
        assert_int_equal(reco_log_has_oracle(x), 1);
        assert_canonical(x);
        assert_extras_follow_rows(x);
    }
    /* Reset keeps the columns: the log takes the same rows again. */
    reco_log_reset(t);
    assert_int_equal(reco_log_n_rows(t), 0);
    assert_int_equal(reco_log_user_dim(t), 2);
    reco_log_row r;
    float feat[2];
    ex_fill(&r, feat, 3, 3, 0, 1);
    assert_int_equal(reco_log_append(t, &r, 1), RECO_OK);
    assert_extras_follow_rows(t);
    reco_log_free(t);
    reco_log_free(v);
    reco_log_free(log);
}

static void test_log_binary_optional_columns(void **state)
{
    fixture *f = *state;
    char bin[256], bin2[256], csv[256], src[1024];
    tmp_path(bin, sizeof bin, f, "extras.bin");
    tmp_path(bin2, sizeof bin2, f, "extras2.bin");
    tmp_path(csv, sizeof csv, f, "extras.csv");
    data_path(src, sizeof src, "good/extras.csv");
    reco_log *log = load_extras("good/extras.csv");
    assert_int_equal(reco_log_save(log, bin), RECO_OK);
    size_t n;
    char *bytes = read_all(bin, &n);
    uint32_t version;
    memcpy(&version, bytes + 8, 4);
    assert_int_equal(version, 2); /* optional columns: format version 2 */
    reco_log *back = new_extras_log();
    assert_int_equal(reco_log_load(back, bin, NULL), RECO_OK);
    assert_extras_equal(log, back);
    assert_int_equal(reco_log_save(back, bin2), RECO_OK);
    assert_files_equal(bin, bin2);
    assert_int_equal(reco_log_save_csv(back, csv), RECO_OK);
    assert_files_equal(src, csv);
    /* Bigger, through split halves. */
    reco_log *t = NULL, *v = NULL;
    assert_int_equal(reco_log_split(&t, &v, log, 0.5, 1), RECO_OK);
    assert_int_equal(reco_log_save(v, bin2), RECO_OK);
    assert_int_equal(reco_log_load(back, bin2, NULL), RECO_OK);
    assert_extras_equal(v, back);
    reco_log_free(t);
    reco_log_free(v);

    /* A file whose optional columns differ from the log's is refused, naming what differs. */
    reco_error_info info = RECO_ERROR_INFO_INIT;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 2;
    o.signal_names = ex_signals;
    reco_log *other = NULL;
    assert_int_equal(reco_log_create(&other, &o), RECO_OK);
    assert_reco_error(reco_log_load(other, bin, NULL), RECO_EFORMAT,
                      "the file has 2 user features per row, the log has 0 (user_dim)");
    reco_error_get(&info);
    assert_string_equal(info.field, "user_dim");
    reco_log_free(other);
    o.user_dim = 2;
    const char *xy[] = {"x", "y"};
    o.user_feature_names = xy;
    o.propensity = 1;
    o.oracle = 1;
    assert_int_equal(reco_log_create(&other, &o), RECO_OK);
    assert_reco_error(reco_log_load(other, bin, NULL), RECO_EFORMAT,
                      "the file's user features are \"age,score\", the log's are \"x,y\"");
    reco_error_get(&info);
    assert_string_equal(info.field, "user_feature_names");
    reco_log_free(other);
    o.user_feature_names = ex_features;
    o.propensity = 0;
    assert_int_equal(reco_log_create(&other, &o), RECO_OK);
    assert_reco_error(reco_log_load(other, bin, NULL), RECO_EFORMAT,
                      "the file has a propensity column, the log has none");
    reco_log_free(other);
    o.propensity = 1;
    o.oracle = 0;
    assert_int_equal(reco_log_create(&other, &o), RECO_OK);
    assert_reco_error(reco_log_load(other, bin, NULL), RECO_EFORMAT,
                      "the file has oracle columns, the log has none");
    reco_error_get(&info);
    assert_string_equal(info.field, "oracle");
    reco_log_free(other);
    reco_log *plain = new_log();
    assert_reco_error(reco_log_load(plain, bin, NULL), RECO_EFORMAT,
                      "the file's signals are \"click,buy\"");

    /* Every flipped byte is refused; the log is untouched. */
    assert_int_equal(reco_log_load(back, bin, NULL), RECO_OK);
    char bad[256];
    tmp_path(bad, sizeof bad, f, "bad.bin");
    for (size_t i = 0; i < n; i += (i < 64 ? 1 : 5)) {
        bytes[i] ^= 0x10;
        write_all(bad, bytes, n);
        bytes[i] ^= 0x10;
        int rc = reco_log_load(back, bad, NULL);
        if (rc != RECO_EFORMAT)
            fail_msg("flipping byte %zu: got %s (%s)", i, reco_status_name(rc),
                     reco_error_message());
    }
    assert_extras_equal(log, back);
    free(bytes);
    reco_log_free(plain);
    reco_log_free(back);
    reco_log_free(log);
}

/* A one-row version-2 file written with the container directly, so that values the writer
 * never produces can be checked by the reader. */
static void write_v2_file(const char *path, const uint32_t columns[3], float prop,
                          const float user[2], const float oracle[3])
{
    reco__writer *w = NULL;
    static const char magic[8] = {'R', 'E', 'C', 'O', 'L', 'O', 'G', '1'};
    const uint64_t su = 1, ss = 1;
    const uint32_t sl = 1, flags = 0;
    const int64_t ts = 0;
    const int32_t item = 0;
    assert_int_equal(reco__writer_open(&w, NULL, path, magic, 2), RECO_OK);
    assert_int_equal(reco__writer_section(w, "signals", RECO__FILE_BYTES, "click\nbuy", 9), 0);
    assert_int_equal(reco__writer_section(w, "s_user", RECO__FILE_U64, &su, 1), 0);
    assert_int_equal(reco__writer_section(w, "s_session", RECO__FILE_U64, &ss, 1), 0);
    assert_int_equal(reco__writer_section(w, "s_length", RECO__FILE_U32, &sl, 1), 0);
    assert_int_equal(reco__writer_section(w, "r_time", RECO__FILE_I64, &ts, 1), 0);
    assert_int_equal(reco__writer_section(w, "r_item", RECO__FILE_I32, &item, 1), 0);
    assert_int_equal(reco__writer_section(w, "r_flags", RECO__FILE_U32, &flags, 1), 0);
    assert_int_equal(reco__writer_section(w, "columns", RECO__FILE_U32, columns, 3), 0);
    assert_int_equal(reco__writer_section(w, "u_names", RECO__FILE_BYTES, "age\nscore", 9), 0);
    assert_int_equal(reco__writer_section(w, "r_user", RECO__FILE_F32, user, 2), 0);
    assert_int_equal(reco__writer_section(w, "r_prop", RECO__FILE_F32, &prop, 1), 0);
    assert_int_equal(reco__writer_section(w, "r_oracle", RECO__FILE_F32, oracle, 3), 0);
    assert_int_equal(reco__writer_commit(w), RECO_OK);
}

static void test_log_binary_checks_optional_values(void **state)
{
    fixture *f = *state;
    char path[256];
    tmp_path(path, sizeof path, f, "v2.bin");
    reco_log *log = new_extras_log();
    const uint32_t cols[3] = {2, 1, 1};
    const float user[2] = {1, 2}, oracle[3] = {0, 0.5f, 1};
    write_v2_file(path, cols, NAN, user, oracle);
    assert_int_equal(reco_log_load(log, path, NULL), RECO_OK);
    assert_int_equal(reco_log_n_rows(log), 1);
    write_v2_file(path, cols, 1.5f, user, oracle);
    assert_reco_error(reco_log_load(log, path, NULL), RECO_EFORMAT,
                      "propensity: row 0: propensity 1.5 is not in (0, 1]");
    write_v2_file(path, cols, 0.0f, user, oracle);
    assert_reco_error(reco_log_load(log, path, NULL), RECO_EFORMAT, "propensity 0 is not in");
    const float bad_oracle[3] = {0, 2, 1};
    write_v2_file(path, cols, 1, user, bad_oracle);
    assert_reco_error(reco_log_load(log, path, NULL), RECO_EFORMAT,
                      "p_buy: row 0: probability 2 is not in [0, 1]");
    const float bad_user[2] = {INFINITY, 0};
    write_v2_file(path, cols, 1, bad_user, oracle);
    assert_reco_error(reco_log_load(log, path, NULL), RECO_EFORMAT,
                      "age: row 0: user feature inf is not a finite number");
    const uint32_t bad_cols[3] = {2, 1, 7};
    write_v2_file(path, bad_cols, 1, user, oracle);
    assert_reco_error(reco_log_load(log, path, NULL), RECO_EFORMAT,
                      "section \"columns\" holds 2, 1, 7");
    /* Every refusal left the one good row. */
    assert_int_equal(reco_log_n_rows(log), 1);
    reco_log_free(log);
}

static void test_log_reads_files_of_libreco_0_1(void **state)
{
    fixture *f = *state;
    /* good/canonical_v01.recolog was written by libreco 0.1 from good/canonical.csv. */
    char old[1024], again[256], csv[1024];
    data_path(old, sizeof old, "good/canonical_v01.recolog");
    data_path(csv, sizeof csv, "good/canonical.csv");
    tmp_path(again, sizeof again, f, "again.recolog");
    reco_log *log = new_log();
    assert_int_equal(reco_log_load(log, old, NULL), RECO_OK);
    reco_log *ref = load_good("good/canonical.csv");
    assert_logs_equal(log, ref);
    /* Without optional columns the writer still writes 0.1's format, byte for byte. */
    assert_int_equal(reco_log_save(log, again), RECO_OK);
    assert_files_equal(old, again);
    /* A log that declares optional columns cannot take a 0.1 file. */
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.propensity = 1;
    reco_log *ext = NULL;
    assert_int_equal(reco_log_create(&ext, &o), RECO_OK);
    assert_reco_error(reco_log_load(ext, old, NULL), RECO_EFORMAT,
                      "the file has no propensity column, the log has one");
    reco_log_free(ext);
    reco_log_free(ref);
    reco_log_free(log);
}

/* Generation fills the optional columns from a version-3 env (the tests' time-budget world,
 * tests/env/budget_env.h): every row's user features are its user's, the propensity is the
 * logging policy's probability of the pick (1 / 20 for the uniform policy, w_i / sum w for
 * popularity), the oracle columns are the env's true probabilities (calibrated against the
 * realised signals and exits), and the timestamps follow the env's clock (each gap is the
 * previous step's duration). A log whose user features do not match the env is refused. */
static void test_log_generate_fills_the_optional_columns(void **state)
{
    (void)state;
    budget_env *be = calloc(1, sizeof *be);
    reco_env env;
    budget_env_init(&env, be, 6, 0, 5);
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.n_signals = 2;
    const char *const names[2] = {"click", "watch"};
    o.signal_names = names;
    o.user_dim = BUDGET_D;
    o.propensity = 1;
    o.oracle = 1;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = 20000;
    go.n_users = BUDGET_NU;
    go.max_candidates = BUDGET_NC;
    go.max_steps = 200;
    go.seed = 4;
    reco_log_policy pol = RECO_LOG_POLICY_INIT; /* uniform */
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    assert_true(c.n_rows >= 20000);
    assert_non_null(c.user_features);
    assert_non_null(c.propensity);
    assert_non_null(c.oracle);
    double sum_pc = 0.0, sum_c = 0.0, sum_pe = 0.0, sum_e = 0.0;
    size_t gaps = 0;
    for (size_t r = 0; r < c.n_rows; r++) {
        assert_memory_equal(c.user_features + r * BUDGET_D, be->z[c.users[r]],
                            BUDGET_D * sizeof(float));
        assert_float_equal(c.propensity[r], 1.0 / BUDGET_NC, 1e-7);
        const float *q = c.oracle + r * 3;
        for (int h = 0; h < 3; h++)
            assert_true(q[h] > 0.0f && q[h] < 1.0f);
        assert_true(q[1] <= q[0]); /* a watch needs a click */
        sum_pc += q[0];
        sum_c += (double)(c.feedback[r] & 1u);
        sum_pe += q[2];
        sum_e += c.exits[r];
        if (r + 1 < c.n_rows && c.users[r + 1] == c.users[r] && c.sessions[r + 1] == c.sessions[r]) {
            assert_int_equal(c.timestamps[r + 1] - c.timestamps[r],
                             (int64_t)budget_seconds(c.feedback[r]));
            gaps++;
        }
    }
    const double n = (double)c.n_rows;
    print_message("oracle: mean P(click) %.4f vs rate %.4f; mean P(exit) %.4f vs rate %.4f\n",
                  sum_pc / n, sum_c / n, sum_pe / n, sum_e / n);
    /* calibration of the truth, 4 standard errors of a rate near 0.3 over 20k rows */
    assert_true(fabs(sum_pc / n - sum_c / n) < 4.0 * sqrt(0.25 / n));
    assert_true(fabs(sum_pe / n - sum_e / n) < 4.0 * sqrt(0.25 / n));
    assert_true(gaps > 10000);

    /* popularity: propensity w_i / sum of the candidates' weights */
    float wts[BUDGET_NI];
    for (int i = 0; i < BUDGET_NI; i++)
        wts[i] = (float)(1 + i % 7);
    pol.kind = RECO_LOG_POLICY_POPULARITY;
    pol.item_weights = wts;
    pol.n_item_weights = BUDGET_NI;
    go.n_interactions = 2000;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    for (size_t r = 0; r < c.n_rows; r++) {
        /* between the lightest and the heaviest share: 1 / (1 + 19 * 7), 7 / (7 + 19) */
        assert_true(c.propensity[r] >= 1.0f / 134.0f - 1e-6f);
        assert_true(c.propensity[r] <= 7.0f / 26.0f + 1e-6f);
    }

    /* an env without the oracle: the columns are unknown (NaN) */
    reco_env no_oracle = env;
    no_oracle.probabilities = NULL;
    pol = (reco_log_policy)RECO_LOG_POLICY_INIT;
    assert_int_equal(reco_log_generate(log, &no_oracle, &pol, &go), RECO_OK);
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    for (size_t r = 0; r < c.n_rows; r++)
        assert_true(isnan(c.oracle[r * 3]) && isnan(c.oracle[r * 3 + 2]));
    /* user features of another width: refused before any session */
    reco_log_options o2 = o;
    o2.user_dim = BUDGET_D + 1;
    reco_log *bad = NULL;
    assert_int_equal(reco_log_create(&bad, &o2), RECO_OK);
    assert_reco_error(reco_log_generate(bad, &env, &pol, &go), RECO_EINVAL,
                      "7 user features per row, the env 6");
    reco_log_free(bad);

    /* any reco_policy logs (reco_log_generate_with): a built-in one records its
     * propensities, a version-1 user policy leaves them unknown */
    reco_policy_options po = RECO_POLICY_OPTIONS_INIT; /* random */
    po.seed = 2;
    reco_policy_state *ps = NULL;
    reco_policy rp;
    assert_int_equal(reco_policy_create(&ps, &po), RECO_OK);
    assert_int_equal(reco_policy_get(&rp, ps), RECO_OK);
    assert_int_equal(reco_log_generate_with(log, &env, &rp, &go), RECO_OK);
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    assert_true(c.n_rows >= 2000);
    for (size_t r = 0; r < c.n_rows; r++)
        assert_float_equal(c.propensity[r], 1.0 / BUDGET_NC, 1e-7);
    reco_policy v1 = rp;
    v1.version = 1; /* choose() only: no propensity */
    assert_int_equal(reco_log_generate_with(log, &env, &v1, &go), RECO_OK);
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    for (size_t r = 0; r < c.n_rows; r++)
        assert_true(isnan(c.propensity[r]));
    reco_policy_free(ps);
    assert_reco_error(reco_log_generate_with(log, &env, NULL, &go), RECO_EINVAL, "NULL");

    /* the model rule takes the env's declared reward weights, and refuses others */
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    mo.n_items = BUDGET_NI;
    mo.n_signals = 2;
    mo.lookback = 6;
    mo.user_dim = BUDGET_D;
    mo.dim = 8;
    mo.n_heads = 2;
    mo.ffn_dim = 8;
    mo.max_batch = 16;
    mo.max_candidates = BUDGET_NC;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &mo), RECO_OK);
    pol = (reco_log_policy)RECO_LOG_POLICY_INIT;
    pol.kind = RECO_LOG_POLICY_MODEL;
    pol.model = m;
    pol.temperature = 0.5f;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK); /* env's weights */
    const float mine[2] = {0.2f, 3.0f};
    pol.signal_weights = mine;
    assert_reco_error(reco_log_generate(log, &env, &pol, &go), RECO_EINVAL,
                      "weighs signal 1 (watch) 3; the env's reward weight is 1");
    reco_env undeclared = env;
    undeclared.version = 3;
    pol.signal_weights = NULL;
    assert_reco_error(reco_log_generate(log, &undeclared, &pol, &go), RECO_EINVAL,
                      "the env declares no reward weights");
    reco_model_free(m);
    reco_log_free(log);
    free(be);
}

/* ---- numbers in CSV (lib/csv.c) ------------------------------------------------------------ */

static void assert_format(float v, const char *want)
{
    char buf[RECO__CSV_F32_MAX + 1];
    size_t n = reco__csv_format_f32(buf, v);
    buf[n] = '\0';
    if (strcmp(buf, want) != 0)
        fail_msg("format(%.9g) = \"%s\", expected \"%s\"", (double)v, buf, want);
}

static float parse_ok(const char *s)
{
    float v = -12345.0f;
    int r = reco__csv_parse_f32(&v, s, strlen(s));
    if (r != 0)
        fail_msg("parse(\"%s\") = %d", s, r);
    return v;
}

static void test_log_csv_floats_are_exact_and_shortest(void **state)
{
    (void)state;
    assert_format(0.1f, "0.1");
    assert_format(0.5f, "0.5");
    assert_format(100.0f, "100");
    assert_format(-2.5f, "-2.5");
    assert_format(0.0f, "0");
    assert_format(-0.0f, "-0");
    assert_format(1e10f, "1e10");
    assert_format(1e-6f, "1e-6");
    assert_format(0.0001f, "0.0001");
    assert_format(-1.5e-7f, "-1.5e-7");
    assert_format(123456789.0f, "123456790");
    assert_format(1.0f / 3.0f, "0.33333334");
    assert_format(FLT_MAX, "3.4028235e38");
    assert_format(FLT_MIN, "1.1754944e-38");
    assert_format(1.4e-45f, "1e-45");
    assert_format(16777216.0f, "16777216");
    /* Every text reads back as the same float: a sweep over the bit patterns. */
    for (uint64_t bits = 0; bits < UINT64_C(0x100000000); bits += 65521) {
        uint32_t b = (uint32_t)bits;
        float v;
        memcpy(&v, &b, 4);
        if (!isfinite(v))
            continue;
        char buf[RECO__CSV_F32_MAX + 1];
        size_t n = reco__csv_format_f32(buf, v);
        assert_true(n <= RECO__CSV_F32_MAX);
        float back;
        if (reco__csv_parse_f32(&back, buf, n) != 0 || memcmp(&back, &v, 4) != 0) {
            buf[n] = '\0';
            fail_msg("0x%08x: \"%s\" does not read back", b, buf);
        }
    }
    /* Reading is correctly rounded: it agrees with strtof (this test runs in the C locale) on
     * random decimals of 1..25 digits, and on halfway cases. */
    reco_rng rng;
    reco_rng_seed(&rng, 99, 1);
    for (int i = 0; i < 200000; i++) {
        char text[64];
        int nd = 1 + (int)reco_rng_below(&rng, 25), w = 0;
        if (reco_rng_below(&rng, 2))
            text[w++] = '-';
        const int point = (int)reco_rng_below(&rng, (uint64_t)nd + 1);
        for (int k = 0; k < nd; k++) {
            if (k == point && k > 0)
                text[w++] = '.';
            text[w++] = (char)('0' + reco_rng_below(&rng, 10));
        }
        w += snprintf(text + w, sizeof text - (size_t)w, "e%d",
                      (int)reco_rng_below(&rng, 90) - 50);
        const float want = strtof(text, NULL);
        if (isinf(want)) {
            float v;
            assert_int_equal(reco__csv_parse_f32(&v, text, strlen(text)), 2);
            continue;
        }
        const float got = parse_ok(text);
        if (memcmp(&want, &got, 4) != 0)
            fail_msg("\"%s\": %.9g, strtof says %.9g", text, (double)got, (double)want);
    }
    assert_true(parse_ok("16777217") == 16777216.0f); /* halfway: to even */
    assert_true(parse_ok("16777219") == 16777220.0f);
    assert_true(parse_ok("1.000000059604644775390625") == 1.0f);
    assert_true(parse_ok("1.000000059604644775390626") > 1.0f);
    assert_true(parse_ok("0.000000000000000000000000000000000000000000001") == 1.4e-45f);
    assert_true(parse_ok("1e-50") == 0.0f);
    assert_true(parse_ok("1e+5") == 100000.0f);
    assert_true(parse_ok("5.") == 5.0f);
    assert_true(parse_ok(".5") == 0.5f);
    assert_true(parse_ok("-0") == 0.0f && signbit(parse_ok("-0")));
    assert_true(parse_ok("0e999999999") == 0.0f);
    float v;
    static const char *const syntax[] = {"", "-", ".", "1e", "1e-", "+1", "1.2.3", "0x10", "1_0",
                                         "1 ", "e5", "1ee5", "--1", "nanx"};
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++)
        if (reco__csv_parse_f32(&v, syntax[i], strlen(syntax[i])) != 1)
            fail_msg("\"%s\" should be a syntax error", syntax[i]);
    static const char *const special[] = {"nan", "NaN", "-nan", "inf", "-INF", "Infinity"};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        assert_int_equal(reco__csv_parse_f32(&v, special[i], strlen(special[i])), 3);
    assert_int_equal(reco__csv_parse_f32(&v, "1e39", 4), 2);
    assert_int_equal(reco__csv_parse_f32(&v, "-3.5e38", 7), 2);
    char longtext[200];
    memset(longtext, '1', sizeof longtext);
    assert_int_equal(reco__csv_parse_f32(&v, longtext, 128), 4);
    assert_int_equal(reco__csv_parse_f32(&v, longtext, 127), 2);
}

/* ---- allocator -------------------------------------------------------------------------- */

typedef struct counting {
    size_t live, total;
} counting;

static void *count_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    void *p = NULL;
    if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
        return NULL;
    c->live++;
    c->total++;
    return p;
}

static void count_free(void *opaque, void *ptr)
{
    counting *c = opaque;
    if (ptr != NULL)
        c->live--;
    free(ptr);
}

static void test_log_uses_the_given_allocator(void **state)
{
    fixture *f = *state;
    counting cnt = {0, 0};
    reco_allocator al = RECO_ALLOCATOR_INIT;
    al.alloc = count_alloc;
    al.free = count_free;
    al.opaque = &cnt;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.allocator = &al;
    reco_log *log = NULL, *t = NULL, *v = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    char src[1024], out[256];
    data_path(src, sizeof src, "good/lenient.csv");
    tmp_path(out, sizeof out, f, "x.bin");
    reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
    lo.lenient = 1;
    assert_int_equal(reco_log_load_csv(log, src, &lo), RECO_OK);
    assert_int_equal(reco_log_save(log, out), RECO_OK);
    assert_int_equal(reco_log_load(log, out, NULL), RECO_OK);
    assert_int_equal(reco_log_split(&t, &v, log, 0.5, 1), RECO_OK);
    assert_true(cnt.total > 10);
    reco_log_free(t);
    reco_log_free(v);
    reco_log_free(log);
    assert_int_equal(cnt.live, 0);
}

/* ---- generation ------------------------------------------------------------------------- */

static void test_log_generate_uniform_from_a_fake_env(void **state)
{
    fixture *f = *state;
    fake_env fe;
    reco_env env;
    fake_env_init(&env, &fe, 30, 4, 16, 7);
    reco_log *log = new_log();
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_sessions = 200;
    go.n_interactions = 0;
    go.n_users = 40;
    go.first_user = 1000;
    go.seed = 3;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(reco_log_n_sessions(log), 200);
    assert_int_equal(reco_log_n_users(log), 40);
    assert_int_equal(reco_log_n_rows(log), fe.steps);
    assert_int_equal(fe.resets, 200);
    assert_int_equal(fe.observes, 0); /* only the model policy observes */
    assert_true(fe.steps > (uint64_t)fe.step_calls * 4); /* many sessions per env call */
    assert_canonical(log);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c, log);
    for (size_t s = 0; s < reco_log_n_sessions(log); s++) {
        size_t first, n;
        reco_log_session(&first, &n, log, s);
        const uint64_t u = c.users[first], k = c.sessions[first];
        assert_true(u >= 1000 && u < 1040);
        assert_true(u - 1000 == k % 40); /* session k belongs to user k mod n_users */
        assert_true(k < 200);
        assert_true(c.timestamps[first] == 1700000000 + (int64_t)(k / 40) * 86400);
        for (size_t t = 0; t < n; t++) {
            assert_true(c.items[first + t] >= 0 && c.items[first + t] < 30);
            assert_true(c.timestamps[first + t] == c.timestamps[first] + 30 * (int64_t)t);
        }
        assert_int_equal(c.exits[first + n - 1], 1); /* the fake env always ends with exit */
        assert_true(n <= FAKE_MAX_LEN);
    }
    /* Same seed, same env behaviour: the same bytes. */
    char a[256], b[256];
    tmp_path(a, sizeof a, f, "a.csv");
    tmp_path(b, sizeof b, f, "b.csv");
    assert_int_equal(reco_log_save_csv(log, a), RECO_OK);
    fake_env_init(&env, &fe, 30, 4, 16, 7);
    reco_log *again = new_log();
    assert_int_equal(reco_log_generate(again, &env, &pol, &go), RECO_OK);
    assert_int_equal(reco_log_save_csv(again, b), RECO_OK);
    assert_files_equal(a, b);
    /* Uniform: every item shows up, in roughly equal numbers. */
    size_t counts[30] = {0};
    for (size_t i = 0; i < c.n_rows; i++)
        counts[c.items[i]]++;
    for (int i = 0; i < 30; i++)
        assert_true(counts[i] > c.n_rows / 30 / 2);
    reco_log_free(log);
    reco_log_free(again);
}

static uint64_t test_session_key(uint64_t user, uint64_t ordinal, void *payload)
{
    assert_non_null(payload);
    return user * 1000 + ordinal;
}

static void test_log_generate_limits_users_and_slots(void **state)
{
    (void)state;
    fake_env fe;
    reco_env env;
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    reco_log *log = new_log();
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    /* Interactions: sessions stop starting at the target; running ones finish. */
    go.n_interactions = 1000;
    go.n_users = 100;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_true(reco_log_n_rows(log) >= 1000);
    assert_true(reco_log_n_rows(log) < 1000 + 8 * FAKE_MAX_LEN);
    /* max_steps cuts sessions, logged with exit 0. */
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    go.n_interactions = 0;
    go.n_sessions = 50;
    go.max_steps = 2;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c, log);
    size_t cut = 0;
    for (size_t s = 0; s < reco_log_n_sessions(log); s++) {
        size_t first, n;
        reco_log_session(&first, &n, log, s);
        assert_true(n <= 2);
        cut += n == 2 && c.exits[first + 1] == 0;
    }
    assert_true(cut > 20);
    /* An explicit user list, and one slot at a time. */
    const uint64_t users[3] = {77, 5, 900};
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    go.users = users;
    go.n_users = 3;
    go.parallel = 1;
    go.max_steps = 1000;
    go.n_sessions = 9;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(fe.last_batch, 1);
    assert_int_equal(reco_log_n_users(log), 3);
    assert_int_equal(reco_log_n_sessions(log), 9);
    reco_log_row r = RECO_LOG_ROW_INIT;
    reco_log_get_row(&r, log, 0);
    assert_int_equal(r.user, 5);
    /* reset() receives the session key; the log records the user. */
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    go.session_key = test_session_key;
    go.session_key_payload = &go;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(fe.n_reset_log, 9);
    const uint64_t want_keys[9] = {77000, 5000, 900000, 77001, 5001, 900001, 77002, 5002, 900002};
    assert_memory_equal(fe.reset_log, want_keys, sizeof want_keys);
    reco_log_get_row(&r, log, 0);
    assert_int_equal(r.user, 5);
    go.session_key = NULL;
    /* More slots than users: a user never runs two sessions at once. */
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    go.parallel = 0;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_true(fe.last_batch <= 3);
    reco_log_free(log);
}

static void test_log_generate_popularity_follows_the_weights(void **state)
{
    (void)state;
    fake_env fe;
    reco_env env;
    fake_env_init(&env, &fe, 30, 4, 16, 2);
    float w[30];
    for (int i = 0; i < 30; i++)
        w[i] = i % 2 == 0 ? (float)(1 + i) : 0.0f; /* odd items never */
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    pol.kind = RECO_LOG_POLICY_POPULARITY;
    pol.item_weights = w;
    pol.n_item_weights = 30;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = 3000;
    go.n_users = 50;
    reco_log *log = new_log();
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    reco_log_get_columns(&c, log);
    size_t counts[30] = {0};
    for (size_t i = 0; i < c.n_rows; i++)
        counts[c.items[i]]++;
    /* An odd item is shown only when all 10 candidates are odd (probability 1e-4 a step),
     * since then the policy falls back to uniform. */
    size_t odd = 0;
    for (int i = 1; i < 30; i += 2)
        odd += counts[i];
    assert_true(odd <= 5);
    assert_true(counts[28] > 3 * counts[2]); /* weight 29 vs 3 */
    /* All candidates weightless: uniform among them. */
    for (int i = 0; i < 30; i++)
        w[i] = 0.0f;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_true(reco_log_n_rows(log) >= 3000);
    reco_log_free(log);
}

static reco_model *tiny_model(uint32_t n_items, uint32_t lookback, uint64_t seed)
{
    reco_model_options o = RECO_MODEL_OPTIONS_INIT;
    o.n_items = n_items;
    o.dim = 8;
    o.lookback = lookback;
    o.n_blocks = 1;
    o.n_heads = 2;
    o.ffn_dim = 16;
    o.n_signals = 4;
    o.max_batch = 8;
    o.max_candidates = 16;
    o.seed = seed;
    o.init_std = 0.5f;
    reco_model *m = NULL;
    assert_int_equal(reco_model_create(&m, &o), RECO_OK);
    return m;
}

static void test_log_generate_model_policy_scores_candidates(void **state)
{
    fixture *f = *state;
    fake_env fe;
    reco_env env;
    fake_env_init(&env, &fe, 30, 4, 20, 4);
    reco_model *m = tiny_model(30, 4, 1);
    const float sw[4] = {1.0f, 2.0f, 0.5f, -1.0f};
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    pol.kind = RECO_LOG_POLICY_MODEL;
    pol.model = m;
    pol.signal_weights = sw;
    pol.temperature = 0.01f; /* nearly greedy: concentrates on the model's favourites */
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_sessions = 60;
    go.n_interactions = 0;
    go.n_users = 30; /* 20 slots, max_batch 8: scored in chunks */
    reco_log *log = new_log();
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(fe.observes, fe.steps);
    assert_int_equal(reco_log_n_sessions(log), 60);
    assert_canonical(log);
    char a[256], b[256];
    tmp_path(a, sizeof a, f, "m1.csv");
    tmp_path(b, sizeof b, f, "m2.csv");
    reco_log_save_csv(log, a);
    fake_env_init(&env, &fe, 30, 4, 20, 4);
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    reco_log_save_csv(log, b);
    assert_files_equal(a, b);
    /* A model that does not fit the env is refused before anything runs. */
    reco_model *wrong = tiny_model(30, 5, 1);
    pol.model = wrong;
    fake_env_init(&env, &fe, 30, 4, 20, 4);
    assert_reco_error(reco_log_generate(log, &env, &pol, &go), RECO_EINVAL,
                      "does not fit the env");
    assert_int_equal(fe.resets, 0);
    pol.model = m;
    pol.signal_weights = NULL;
    assert_reco_error(reco_log_generate(log, &env, &pol, &go), RECO_EINVAL, "signal weights");
    pol.signal_weights = sw;
    pol.temperature = 0.0f;
    assert_reco_error(reco_log_generate(log, &env, &pol, &go), RECO_EINVAL, "temperature");
    reco_model_free(m);
    reco_model_free(wrong);
    reco_log_free(log);
}

static void test_log_generate_rejects_bad_inputs_atomically(void **state)
{
    (void)state;
    fake_env fe;
    reco_env env;
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    reco_log *log = load_good("good/canonical.csv");
    reco_log *ref = load_good("good/canonical.csv");
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_users = 10;
    go.n_interactions = 500;
    assert_reco_error(reco_log_generate(NULL, &env, &pol, &go), RECO_EINVAL, "NULL");
    assert_reco_error(reco_log_generate(log, NULL, &pol, &go), RECO_EINVAL, "NULL");
    assert_reco_error(reco_log_generate(log, &env, NULL, &go), RECO_EINVAL, "NULL");
    reco_log_generate_options bad = go;
    bad.n_users = 0;
    assert_reco_error(reco_log_generate(log, &env, &pol, &bad), RECO_EINVAL, "n_users is 0");
    bad = go;
    bad.n_interactions = 0;
    bad.n_sessions = 0;
    assert_reco_error(reco_log_generate(log, &env, &pol, &bad), RECO_EINVAL, "both 0");
    bad = go;
    bad.max_candidates = 0;
    assert_reco_error(reco_log_generate(log, &env, &pol, &bad), RECO_EINVAL, "max_candidates");
    bad = go;
    bad.parallel = 9;
    assert_reco_error(reco_log_generate(log, &env, &pol, &bad), RECO_EINVAL, "parallel 9");
    bad = go;
    bad.version = 0;
    assert_reco_error(reco_log_generate(log, &env, &pol, &bad), RECO_EVERSION, "version");
    reco_log_policy bp = pol;
    bp.kind = (reco_log_policy_kind)9;
    assert_reco_error(reco_log_generate(log, &env, &bp, &go), RECO_EINVAL, "policy kind 9");
    bp = pol;
    bp.kind = RECO_LOG_POLICY_POPULARITY;
    assert_reco_error(reco_log_generate(log, &env, &bp, &go), RECO_EINVAL, "30 item weights");
    float w[30] = {0};
    w[4] = -1.0f;
    bp.item_weights = w;
    bp.n_item_weights = 30;
    assert_reco_error(reco_log_generate(log, &env, &bp, &go), RECO_EINVAL, "item_weights[4]");
    reco_env be = env;
    be.n_signals = 3;
    assert_reco_error(reco_log_generate(log, &be, &pol, &go), RECO_EINVAL, "3 signals, the log 4");
    be = env;
    be.step = NULL;
    assert_reco_error(reco_log_generate(log, &be, &pol, &go), RECO_EINVAL, "callback");
    assert_int_equal(fe.resets, 0);
    /* Failures of the env during the run: the log keeps its rows. */
    fe.no_candidates = 1;
    assert_reco_error(reco_log_generate(log, &env, &pol, &go), RECO_EINVAL, "0 candidates");
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    fe.bad_feedback = 1;
    assert_reco_error(reco_log_generate(log, &env, &pol, &go), RECO_EINVAL, "feedback 0x");
    fake_env_init(&env, &fe, 30, 4, 8, 1);
    fe.fail_step_at = 5;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_EIO);
    assert_logs_equal(log, ref);
    reco_log_free(log);
    reco_log_free(ref);
}

/* The candidates column (options version 3): rows carry the candidates the logging policy
 * chose from; append, get_row and get_columns, CSV and binary round trips (bytes equal on a
 * second save), unknown candidates, the generator filling it, and bad input. */
static void test_log_candidates_column(void **state)
{
    fixture *f = *state;
    reco_log_options o = RECO_LOG_OPTIONS_INIT;
    o.propensity = 1;
    o.max_candidates = 3;
    reco_log *log = NULL;
    assert_int_equal(reco_log_create(&log, &o), RECO_OK);
    const int32_t c0[3] = {4, 7, 9}, c1[1] = {2};
    reco_log_row rows[3] = {RECO_LOG_ROW_INIT, RECO_LOG_ROW_INIT, RECO_LOG_ROW_INIT};
    for (int i = 0; i < 3; i++) {
        rows[i].user = 1;
        rows[i].session = 1;
        rows[i].step = (uint32_t)i;
        rows[i].timestamp = 10 * i;
        rows[i].propensity = 0.5f;
    }
    rows[0].item = 7, rows[0].n_candidates = 3, rows[0].candidates = c0;
    rows[1].item = 2, rows[1].n_candidates = 1, rows[1].candidates = c1;
    rows[2].item = 5, rows[2].exit = 1; /* unknown candidates */
    assert_int_equal(reco_log_append(log, rows, 3), RECO_OK);
    reco_log_row r = RECO_LOG_ROW_INIT;
    assert_int_equal(reco_log_get_row(&r, log, 0), RECO_OK);
    assert_int_equal(r.n_candidates, 3);
    assert_memory_equal(r.candidates, c0, sizeof c0);
    assert_int_equal(reco_log_get_row(&r, log, 2), RECO_OK);
    assert_int_equal(r.n_candidates, 0);
    assert_null(r.candidates);
    reco_log_columns c = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    assert_int_equal(c.max_candidates, 3);
    assert_int_equal(c.candidate_counts[1], 1);
    assert_int_equal(c.candidates[1 * 3 + 0], 2);
    assert_int_equal(c.candidates[1 * 3 + 1], RECO_PAD);
    /* CSV: a space-separated field after the propensity, empty when unknown */
    char csv[256], csv2[256], bin[256];
    tmp_path(csv, sizeof csv, f, "cand.csv");
    tmp_path(csv2, sizeof csv2, f, "cand2.csv");
    tmp_path(bin, sizeof bin, f, "cand.recolog");
    assert_int_equal(reco_log_save_csv(log, csv), RECO_OK);
    size_t n = 0;
    char *text = read_all(csv, &n);
    assert_non_null(strstr(text, "exit,propensity,candidates\n"));
    assert_non_null(strstr(text, ",0,0.5,4 7 9\n"));
    assert_non_null(strstr(text, ",1,0.5,\n"));
    free(text);
    reco_log *back = NULL;
    assert_int_equal(reco_log_create(&back, &o), RECO_OK);
    assert_int_equal(reco_log_load_csv(back, csv, NULL), RECO_OK);
    assert_int_equal(reco_log_save_csv(back, csv2), RECO_OK);
    assert_files_equal(csv, csv2);
    /* binary: format version 3, exact */
    assert_int_equal(reco_log_save(log, bin), RECO_OK);
    reco_log_reset(back);
    assert_int_equal(reco_log_load(back, bin, NULL), RECO_OK);
    reco_log_columns d = RECO_LOG_COLUMNS_INIT;
    assert_int_equal(reco_log_get_columns(&d, back), RECO_OK);
    assert_memory_equal(d.candidate_counts, c.candidate_counts, 3 * sizeof(uint32_t));
    assert_memory_equal(d.candidates, c.candidates, 9 * sizeof(int32_t));
    /* a log without the column refuses the file, naming the difference */
    reco_log_options po = RECO_LOG_OPTIONS_INIT;
    po.propensity = 1;
    reco_log *plain = NULL;
    assert_int_equal(reco_log_create(&plain, &po), RECO_OK);
    assert_reco_error(reco_log_load(plain, bin, NULL), RECO_EFORMAT, "max_candidates");
    assert_reco_error(reco_log_load_csv(plain, csv, NULL), RECO_EFORMAT, "candidates");
    /* bad rows: the item not among them, too many, none expected, negative */
    reco_log_row bad = rows[0];
    bad.user = 9;
    bad.step = 0;
    bad.item = 5;
    assert_reco_error(reco_log_append(log, &bad, 1), RECO_EINVAL,
                      "rows[0]: item 5 is not among its 3 candidates");
    bad.item = 7;
    bad.n_candidates = 4;
    assert_reco_error(reco_log_append(log, &bad, 1), RECO_EINVAL,
                      "4 candidates exceed the log's max_candidates 3");
    bad.n_candidates = 3;
    assert_reco_error(reco_log_append(plain, &bad, 1), RECO_EINVAL,
                      "the log has no candidates column");
    const int32_t neg[2] = {-3, 7};
    bad.candidates = neg;
    bad.n_candidates = 2;
    assert_reco_error(reco_log_append(log, &bad, 1), RECO_EINVAL, "candidate 0 is -3");
    bad.candidates = NULL;
    assert_reco_error(reco_log_append(log, &bad, 1), RECO_EINVAL, "candidates is NULL");
    /* bad CSV fields, with their line and column */
    const char *bad_csv[3] = {
        "user,session,step,timestamp,item,click,long_watch,like,hide,exit,propensity,"
        "candidates\n1,1,0,0,3,0,0,0,0,1,0.5,1 2\n",
        "user,session,step,timestamp,item,click,long_watch,like,hide,exit,propensity,"
        "candidates\n1,1,0,0,3,0,0,0,0,1,0.5,1 x 3\n",
        "user,session,step,timestamp,item,click,long_watch,like,hide,exit,propensity,"
        "candidates\n1,1,0,0,3,0,0,0,0,1,0.5,1 2 3 4\n"};
    const char *want[3] = {"item 3 is not among its 2 candidates", "candidate \"x\" is not",
                           "more than max_candidates 3"};
    for (int k = 0; k < 3; k++) {
        write_all(csv, bad_csv[k], strlen(bad_csv[k]));
        reco_log_reset(back);
        assert_reco_error(reco_log_load_csv(back, csv, NULL), RECO_EFORMAT, want[k]);
        assert_reco_error(reco_log_load_csv(back, csv, NULL), RECO_EFORMAT, ":2:");
    }
    reco_log_free(plain);
    reco_log_free(back);
    reco_log_free(log);
    o.max_candidates = RECO_LOG_MAX_CANDIDATES + 1;
    assert_reco_error(reco_log_create(&back, &o), RECO_EINVAL, "max_candidates 4097");
    assert_null(back);
    /* the generator records every step's candidates, the shown item among them */
    budget_env *be = calloc(1, sizeof *be);
    reco_env env;
    budget_env_init(&env, be, 6, 0, 5);
    reco_log_options go_o = RECO_LOG_OPTIONS_INIT;
    go_o.n_signals = 2;
    go_o.propensity = 1;
    go_o.max_candidates = BUDGET_NC;
    assert_int_equal(reco_log_create(&log, &go_o), RECO_OK);
    reco_log_generate_options go = RECO_LOG_GENERATE_OPTIONS_INIT;
    go.n_interactions = 2000;
    go.n_users = BUDGET_NU;
    go.max_candidates = BUDGET_NC;
    go.max_steps = 200;
    go.seed = 4;
    reco_log_policy pol = RECO_LOG_POLICY_INIT;
    assert_int_equal(reco_log_generate(log, &env, &pol, &go), RECO_OK);
    assert_int_equal(reco_log_get_columns(&c, log), RECO_OK);
    for (size_t i = 0; i < c.n_rows; i++) {
        assert_int_equal(c.candidate_counts[i], BUDGET_NC);
        int seen = 0;
        for (uint32_t j = 0; j < BUDGET_NC; j++)
            seen += c.candidates[i * BUDGET_NC + j] == c.items[i];
        assert_true(seen >= 1);
    }
    reco_log_free(log);
    /* a log whose max_candidates is below the env's offer is refused */
    go_o.max_candidates = BUDGET_NC - 1;
    assert_int_equal(reco_log_create(&log, &go_o), RECO_OK);
    assert_reco_error(reco_log_generate(log, &env, &pol, &go), RECO_EINVAL,
                      "more than the log's max_candidates 19");
    reco_log_free(log);
    free(be);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_options_init_matches_macros, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_create_rejects_bad_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_default_signal_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_bad_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_bad_corpus_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_csv_round_trip_is_byte_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_log_csv_accepts_crlf_bom_shuffled_rows_and_no_final_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_sessions_are_contiguous_and_in_time_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_custom_signal_names_define_the_header, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_lenient_rejects_and_reports_every_bad_row, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_load_csv_io_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_large_csv_streams_through_the_buffer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_append_in_order_and_out_of_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_append_rejects_bad_rows_atomically, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_append_fast_path_equals_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_split_by_user_is_deterministic_and_disjoint,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_binary_round_trip_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_binary_refuses_damaged_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_binary_checks_signals_and_catalog, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_save_is_atomic_and_reports_io_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_options_version_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_create_checks_the_optional_columns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_version_1_row_and_columns_are_not_written_past,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_csv_optional_columns_round_trip_byte_for_byte,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_bad_extras_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_lenient_optional_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_append_carries_the_optional_columns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_append_version_1_arrays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_split_and_reset_carry_the_optional_columns,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_binary_optional_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_binary_checks_optional_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_reads_files_of_libreco_0_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_generate_fills_the_optional_columns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_csv_floats_are_exact_and_shortest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_uses_the_given_allocator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_generate_uniform_from_a_fake_env, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_generate_limits_users_and_slots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_generate_popularity_follows_the_weights, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_generate_model_policy_scores_candidates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_generate_rejects_bad_inputs_atomically, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_log_candidates_column, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
