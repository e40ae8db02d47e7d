/* reco_log: options, CSV loading (strict and lenient, the bad-CSV corpus in tests/log/bad),
 * byte-exact CSV and binary round trips, canonical order and sessions, appending, splitting
 * by user, refusal of damaged binary files, and generation from a fake env (log/fake_env.h). */
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"
#include "log/fake_env.h"
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
    o.version = 2;
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

typedef struct manifest_entry {
    char file[128];
    char status[32];
    unsigned line, column;
    char field[64];
    char message[256];
} manifest_entry;

static size_t read_manifest(manifest_entry *out, size_t cap)
{
    char path[1024];
    data_path(path, sizeof path, "bad/expected.txt");
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    char line[1024];
    size_t n = 0;
    unsigned lineno = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (n == cap)
            fail_msg("manifest has more than %zu entries", cap);
        char *parts[6];
        char *p = line;
        for (int k = 0; k < 6; k++) {
            parts[k] = p;
            char *bar = k < 5 ? strchr(p, '|') : NULL;
            if (k < 5 && bar == NULL)
                fail_msg("expected.txt:%u: needs 6 '|'-separated fields", lineno);
            if (bar != NULL) {
                *bar = '\0';
                p = bar + 1;
            }
        }
        manifest_entry *e = &out[n++];
        snprintf(e->file, sizeof e->file, "%s", parts[0]);
        snprintf(e->status, sizeof e->status, "%s", parts[1]);
        e->line = (unsigned)strtoul(parts[2], NULL, 10);
        e->column = (unsigned)strtoul(parts[3], NULL, 10);
        snprintf(e->field, sizeof e->field, "%s", parts[4]);
        snprintf(e->message, sizeof e->message, "%s", parts[5]);
        if (e->message[0] == '\0')
            fail_msg("expected.txt:%u: empty message substring", lineno);
    }
    fclose(fp);
    return n;
}

static void test_log_bad_corpus(void **state)
{
    (void)state;
    static manifest_entry entries[128];
    size_t n = read_manifest(entries, 128);
    assert_true(n >= 15);
    reco_log *log = load_good("good/canonical.csv");
    reco_log *before = load_good("good/canonical.csv");
    reco_log_load_options lo = RECO_LOG_LOAD_OPTIONS_INIT;
    lo.n_items = 1000;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const manifest_entry *e = &entries[i];
        char path[1024], rel[200];
        snprintf(rel, sizeof rel, "bad/%.127s", e->file);
        data_path(path, sizeof path, rel);
        int rc = reco_log_load_csv(log, path, &lo);
        reco_error_info info = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_error_get(&info), RECO_OK);
        int ok = strcmp(reco_status_name(rc), e->status) == 0 && info.code == rc &&
                 info.line == e->line && info.column == e->column &&
                 strcmp(info.field, e->field) == 0 && strstr(info.message, e->message) != NULL &&
                 strstr(info.message, e->file) != NULL && strcmp(info.source, path) == 0;
        if (!ok) {
            failures++;
            print_error("%s: expected %s %u:%u field \"%s\" message containing \"%s\"\n"
                        "   got %s %u:%u field \"%s\" message \"%s\"\n", e->file, e->status,
                        e->line, e->column, e->field, e->message, reco_status_name(rc),
                        info.line, info.column, info.field, info.message);
        }
        /* Atomic: a failed load keeps the previous rows. */
        assert_logs_equal(log, before);
    }
    /* Lenient mode rejects the same rows (the header files still fail). */
    lo.lenient = 1;
    for (size_t i = 0; i < n; i++) {
        char path[1024], rel[200];
        snprintf(rel, sizeof rel, "bad/%.127s", entries[i].file);
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
    reco_log_free(log);
    reco_log_free(before);
    if (failures > 0)
        fail_msg("%d of %zu corpus files did not fail as expected", failures, n);
}

static void test_log_bad_corpus_complete(void **state)
{
    (void)state;
    static manifest_entry entries[128];
    size_t n = read_manifest(entries, 128);
    char dir[1024];
    data_path(dir, sizeof dir, "bad");
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t files = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || strcmp(ent->d_name, "expected.txt") == 0)
            continue;
        files++;
        size_t k = 0;
        while (k < n && strcmp(entries[k].file, ent->d_name) != 0)
            k++;
        if (k == n)
            fail_msg("tests/log/bad/%s is not listed in expected.txt", ent->d_name);
    }
    closedir(d);
    assert_int_equal(files, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(entries[i].file, entries[j].file) == 0)
                fail_msg("expected.txt lists %s twice", entries[i].file);
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
    badv.version = 3;
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
