/* Tests of the configuration module (reco/config.h) through the public API: defaults, YAML
 * loading (good files and the bad-file corpus in tests/config/bad/, driven by its manifest),
 * reco_config_set(), the section accessors, writing and round trips, atomicity, allocator
 * accounting and allocation failures, argument checks, and the origin of each option. */
#include "test_common.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------- */

static void data_path(char *buf, size_t cap, const char *rel)
{
    int n = snprintf(buf, cap, "%s/config/%s", test_data_dir(), rel);
    assert_true(n > 0 && (size_t)n < cap);
}

static reco_config *new_config(void)
{
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, NULL), RECO_OK);
    assert_non_null(cfg);
    return cfg;
}

static reco_experiment_options get_experiment(const reco_config *cfg)
{
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    int rc = reco_config_get_experiment(&ex, cfg);
    if (rc != RECO_OK)
        fail_msg("reco_config_get_experiment: %s", reco_error_message());
    return ex;
}

/* Field by field; strings by content; list entries up to the count. */
static void assert_experiment_equal(const reco_experiment_options *a,
                                    const reco_experiment_options *b)
{
    assert_int_equal(a->version, b->version);
    assert_string_equal(a->name, b->name);
    assert_true(a->seed == b->seed);
    assert_int_equal(a->threads, b->threads);
    assert_true(a->time_limit_s == b->time_limit_s);
    assert_int_equal(a->deterministic, b->deterministic);
    assert_int_equal(a->verbosity, b->verbosity);
    assert_string_equal(a->output_dir, b->output_dir);
    assert_int_equal(a->n_formats, b->n_formats);
    for (uint32_t i = 0; i < a->n_formats; i++)
        assert_int_equal(a->formats[i], b->formats[i]);
    assert_int_equal(a->n_seeds, b->n_seeds);
    for (uint32_t i = 0; i < a->n_seeds; i++)
        assert_true(a->seeds[i] == b->seeds[i]);
}

static void load_good(reco_config *cfg, const char *name)
{
    char path[1024];
    char rel[256];
    snprintf(rel, sizeof rel, "good/%s", name);
    data_path(path, sizeof path, rel);
    int rc = reco_config_load_file(cfg, path);
    if (rc != RECO_OK)
        fail_msg("loading %s: %s", path, reco_error_message());
}

/* Writes cfg with write_string into a fresh heap buffer (caller frees). */
static char *write_text(const reco_config *cfg, size_t *len_out)
{
    size_t len = 0;
    assert_reco_error(reco_config_write_string(cfg, NULL, 0, &len), RECO_EINVAL, "needs");
    char *text = malloc(len + 1);
    assert_non_null(text);
    size_t len2 = 0;
    assert_int_equal(reco_config_write_string(cfg, text, len + 1, &len2), RECO_OK);
    assert_int_equal(len, len2);
    assert_int_equal(strlen(text), len);
    if (len_out != NULL)
        *len_out = len;
    return text;
}

/* load -> write -> load -> equal structs; write -> write byte-identical. */
static void assert_round_trip(const reco_config *cfg)
{
    size_t len = 0;
    char *text = write_text(cfg, &len);
    reco_config *again = new_config();
    int rc = reco_config_load_string(again, text, len, "written");
    if (rc != RECO_OK)
        fail_msg("reloading written text failed: %s\n%s", reco_error_message(), text);
    reco_experiment_options a = get_experiment(cfg);
    reco_experiment_options b = get_experiment(again);
    assert_experiment_equal(&a, &b);
    size_t len2 = 0;
    char *text2 = write_text(again, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(text, text2, len);
    free(text2);
    free(text);
    reco_config_free(again);
}

static size_t count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void make_temp_dir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/reco_config_test_XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[1024];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- counting / failing allocator ---------------------------------------------------- */

typedef struct counting {
    size_t allocs;  /* successful allocations */
    size_t frees;
    size_t calls;   /* allocation attempts */
    size_t fail_at; /* 1-based attempt that fails; 0: never */
} counting;

static void *counting_alloc(void *opaque, size_t size, size_t align)
{
    counting *c = opaque;
    c->calls++;
    if (c->fail_at != 0 && c->calls == c->fail_at)
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

/* ---- defaults and options ------------------------------------------------------------ */

static void test_config_defaults(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_experiment_options macro = RECO_EXPERIMENT_OPTIONS_INIT;
    reco_experiment_options fn;
    memset(&fn, 0xA5, sizeof fn);
    assert_int_equal(reco_experiment_options_init(&fn, RECO_EXPERIMENT_OPTIONS_VERSION), RECO_OK);
    reco_experiment_options got = get_experiment(cfg);
    assert_experiment_equal(&macro, &fn);
    assert_experiment_equal(&macro, &got);
    /* The documented defaults, spelled out. */
    assert_string_equal(got.name, "recomind");
    assert_true(got.seed == 42);
    assert_int_equal(got.threads, 1);
    assert_true(got.time_limit_s == 0.0);
    assert_int_equal(got.deterministic, 1);
    assert_int_equal(got.verbosity, RECO_VERBOSITY_INFO);
    assert_string_equal(got.output_dir, ".");
    assert_int_equal(got.n_formats, 2);
    assert_int_equal(got.formats[0], RECO_OUTPUT_JSON);
    assert_int_equal(got.formats[1], RECO_OUTPUT_CSV);
    assert_int_equal(got.n_seeds, 3);
    assert_true(got.seeds[0] == 1 && got.seeds[1] == 2 && got.seeds[2] == 3);
    /* Unused list slots are zero in the init function, as in the macro. */
    for (uint32_t i = fn.n_seeds; i < RECO_EXPERIMENT_MAX_SEEDS; i++)
        assert_true(fn.seeds[i] == 0);
    for (uint32_t i = fn.n_formats; i < RECO_EXPERIMENT_MAX_FORMATS; i++)
        assert_int_equal(fn.formats[i], 0);

    reco_config_options co = RECO_CONFIG_OPTIONS_INIT;
    reco_config_options cf;
    assert_int_equal(reco_config_options_init(&cf, RECO_CONFIG_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(co.version, cf.version);
    assert_null(co.allocator);
    assert_null(cf.allocator);
    reco_config_free(cfg);
}

static void test_config_options_init_versions(void **state)
{
    (void)state;
    reco_experiment_options ex;
    memset(&ex, 0x5A, sizeof ex);
    reco_experiment_options before = ex;
    assert_reco_error(reco_experiment_options_init(&ex, 0), RECO_EVERSION, "version 0");
    assert_reco_error(reco_experiment_options_init(&ex, RECO_EXPERIMENT_OPTIONS_VERSION + 1),
                      RECO_EVERSION, "not supported");
    assert_memory_equal(&ex, &before, sizeof ex);

    reco_config_options co;
    assert_reco_error(reco_config_options_init(&co, 0), RECO_EVERSION, "version 0");
    assert_reco_error(reco_config_options_init(&co, RECO_CONFIG_OPTIONS_VERSION + 1),
                      RECO_EVERSION, "not supported");

    /* create() checks the options version and the allocator, and leaves *out NULL. */
    reco_config *cfg = (reco_config *)&co;
    reco_config_options bad = RECO_CONFIG_OPTIONS_INIT;
    bad.version = RECO_CONFIG_OPTIONS_VERSION + 1;
    assert_reco_error(reco_config_create(&cfg, &bad), RECO_EVERSION, "reco_config_options");
    assert_null(cfg);
    reco_allocator half = RECO_ALLOCATOR_INIT;
    half.alloc = counting_alloc;
    bad = (reco_config_options)RECO_CONFIG_OPTIONS_INIT;
    bad.allocator = &half;
    cfg = (reco_config *)&co;
    assert_reco_error(reco_config_create(&cfg, &bad), RECO_EINVAL, "alloc and free");
    assert_null(cfg);
}

static void test_config_get_version(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_experiment_options ex;
    memset(&ex, 0x33, sizeof ex);
    ex.version = 0;
    reco_experiment_options before = ex;
    assert_reco_error(reco_config_get_experiment(&ex, cfg), RECO_EVERSION, "version 0");
    assert_memory_equal(&ex, &before, sizeof ex);
    ex.version = RECO_EXPERIMENT_OPTIONS_VERSION + 1;
    before = ex;
    assert_reco_error(reco_config_get_experiment(&ex, cfg), RECO_EVERSION, "version 3");
    assert_memory_equal(&ex, &before, sizeof ex);
    /* set_experiment checks the same way. */
    assert_reco_error(reco_config_set_experiment(cfg, &ex), RECO_EVERSION, "version 3");
    ex.version = 0;
    assert_reco_error(reco_config_set_experiment(cfg, &ex), RECO_EVERSION, "version 0");
    /* A valid version keeps the caller's version member. */
    reco_experiment_options ok = RECO_EXPERIMENT_OPTIONS_INIT;
    ok.seed = 0;
    assert_int_equal(reco_config_get_experiment(&ok, cfg), RECO_OK);
    assert_int_equal(ok.version, RECO_EXPERIMENT_OPTIONS_VERSION);
    assert_true(ok.seed == 42);
    reco_config_free(cfg);
}

/* ---- loading good files ---------------------------------------------------------------- */

static void test_config_load_full(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    reco_experiment_options ex = get_experiment(cfg);
    reco_experiment_options def = RECO_EXPERIMENT_OPTIONS_INIT;
    assert_string_equal(ex.name, "full \"quoted\" name, \xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9");
    assert_true(ex.seed == UINT64_MAX);
    assert_int_equal(ex.threads, 256);
    assert_true(ex.time_limit_s == 3600.25);
    assert_int_equal(ex.deterministic, 0);
    assert_int_equal(ex.verbosity, RECO_VERBOSITY_DEBUG);
    assert_string_equal(ex.output_dir, "runs/full test");
    assert_int_equal(ex.n_formats, 4);
    assert_int_equal(ex.formats[0], RECO_OUTPUT_PNG);
    assert_int_equal(ex.formats[1], RECO_OUTPUT_JSON);
    assert_int_equal(ex.formats[2], RECO_OUTPUT_CSV);
    assert_int_equal(ex.formats[3], RECO_OUTPUT_PNG);
    assert_int_equal(ex.n_seeds, 4);
    assert_true(ex.seeds[0] == 7);
    assert_true(ex.seeds[1] == 0);
    assert_true(ex.seeds[2] == UINT64_MAX);
    assert_true(ex.seeds[3] == UINT64_C(12345678901234567890));
    /* Every field differs from its default, so the file really exercises each one. */
    assert_string_not_equal(ex.name, def.name);
    assert_true(ex.seed != def.seed && ex.threads != def.threads);
    assert_true(ex.time_limit_s != def.time_limit_s && ex.deterministic != def.deterministic);
    assert_true(ex.verbosity != def.verbosity && strcmp(ex.output_dir, def.output_dir) != 0);
    assert_true(ex.n_formats != def.n_formats && ex.n_seeds != def.n_seeds);
    reco_config_free(cfg);
}

static void test_config_load_partial(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    /* Loading replaces everything: values from an earlier load do not survive. */
    load_good(cfg, "full.yaml");
    load_good(cfg, "partial.yaml");
    reco_experiment_options ex = get_experiment(cfg);
    reco_experiment_options want = RECO_EXPERIMENT_OPTIONS_INIT;
    want.seed = 7;
    want.n_formats = 1;
    want.formats[0] = RECO_OUTPUT_PNG;
    assert_experiment_equal(&ex, &want);
    reco_config_free(cfg);
}

static void test_config_load_empty_is_defaults(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_experiment_options def = RECO_EXPERIMENT_OPTIONS_INIT;
    static const char *const texts[] = { "", "# only a comment\n", "---\n", "~\n", "--- ~\n...\n",
                                         "\n\n   \n" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        load_good(cfg, "full.yaml");
        int rc = reco_config_load_string(cfg, texts[i], strlen(texts[i]), "empty");
        if (rc != RECO_OK)
            fail_msg("text %zu: %s", i, reco_error_message());
        reco_experiment_options ex = get_experiment(cfg);
        assert_experiment_equal(&ex, &def);
    }
    static const char *const files[] = { "empty.yaml", "comments_only.yaml" };
    for (size_t i = 0; i < 2; i++) {
        load_good(cfg, "full.yaml");
        load_good(cfg, files[i]);
        reco_experiment_options ex = get_experiment(cfg);
        assert_experiment_equal(&ex, &def);
    }
    /* An empty section mapping is all defaults too. */
    assert_int_equal(reco_config_load_string(cfg, "experiment: {}\n", 15, NULL), RECO_OK);
    reco_experiment_options ex = get_experiment(cfg);
    assert_experiment_equal(&ex, &def);
    reco_config_free(cfg);
}

static void test_config_load_aliases_and_core_tags(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    load_good(cfg, "aliases.yaml");
    reco_experiment_options ex = get_experiment(cfg);
    assert_string_equal(ex.name, "results");
    assert_string_equal(ex.output_dir, "results");
    assert_int_equal(ex.n_formats, 0);
    assert_int_equal(ex.n_seeds, 3);
    assert_true(ex.seeds[0] == 5 && ex.seeds[2] == 7);
    assert_int_equal(ex.threads, 4);
    assert_true(ex.time_limit_s == 1000.0);
    reco_config_free(cfg);
}

static void test_config_load_string_not_terminated(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    /* Only `len` bytes are read: the trailing garbage is never seen. */
    const char text[] = "experiment: {seed: 9}\n@@@ not yaml [";
    assert_int_equal(reco_config_load_string(cfg, text, 22, "part"), RECO_OK);
    assert_true(get_experiment(cfg).seed == 9);
    /* Errors name the source given, or "<string>". */
    assert_reco_error(reco_config_load_string(cfg, "experiment: {sed: 1}", 20, "cli-arg"),
                      RECO_ECONFIG, "cli-arg:1:14: experiment.sed:");
    assert_reco_error(reco_config_load_string(cfg, "experiment: 3", 13, NULL), RECO_ECONFIG,
                      "<string>:1:13: experiment:");
    reco_config_free(cfg);
}

static void test_config_load_file_errors(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    char path[1024];
    data_path(path, sizeof path, "good/does-not-exist.yaml");
    assert_reco_error(reco_config_load_file(cfg, path), RECO_EIO, "does-not-exist.yaml");
    data_path(path, sizeof path, "good");
    assert_reco_error(reco_config_load_file(cfg, path), RECO_EIO, "cannot read");
    assert_reco_error(reco_config_load_file(cfg, ""), RECO_EINVAL, "path is empty");
    reco_config_free(cfg);
}

static void test_config_reset(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    reco_config_reset(cfg);
    reco_experiment_options ex = get_experiment(cfg);
    reco_experiment_options def = RECO_EXPERIMENT_OPTIONS_INIT;
    assert_experiment_equal(&ex, &def);
    reco_config_reset(NULL);
    reco_config_free(NULL);
    reco_config_free(cfg);
}

/* ---- the bad-file corpus ------------------------------------------------------------- */

typedef struct manifest_entry {
    char file[128];
    char status[32];
    unsigned line, column;
    char field[128];
    char message[256];
} manifest_entry;

/* Reads tests/config/bad/expected.txt; returns the number of entries. */
static size_t read_manifest(manifest_entry *out, size_t cap)
{
    char path[1024];
    data_path(path, sizeof path, "bad/expected.txt");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char line[1024];
    size_t n = 0;
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
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
    fclose(f);
    return n;
}

static void test_config_bad_corpus(void **state)
{
    (void)state;
    static manifest_entry entries[256];
    size_t n = read_manifest(entries, 256);
    assert_true(n >= 25);
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    reco_experiment_options good = get_experiment(cfg);
    char good_name[256];
    snprintf(good_name, sizeof good_name, "%s", good.name);
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const manifest_entry *e = &entries[i];
        char path[1024], rel[sizeof e->file + 8];
        snprintf(rel, sizeof rel, "bad/%.127s", e->file);
        data_path(path, sizeof path, rel);
        int rc = reco_config_load_file(cfg, path);
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
        /* Atomic: a failed load keeps the previous configuration. */
        reco_experiment_options now = get_experiment(cfg);
        assert_experiment_equal(&now, &good);
        assert_string_equal(now.name, good_name);
    }
    reco_config_free(cfg);
    if (failures > 0)
        fail_msg("%d of %zu corpus files did not fail as expected", failures, n);
}

static void test_config_bad_corpus_complete(void **state)
{
    (void)state;
    static manifest_entry entries[256];
    size_t n = read_manifest(entries, 256);
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
            fail_msg("tests/config/bad/%s is not listed in expected.txt", ent->d_name);
    }
    closedir(d);
    /* ...and no entry is listed twice or names a missing file. */
    assert_int_equal(files, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(entries[i].file, entries[j].file) == 0)
                fail_msg("expected.txt lists %s twice", entries[i].file);
}

/* ---- atomicity ----------------------------------------------------------------------- */

static void test_config_load_is_atomic(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    reco_experiment_options before = get_experiment(cfg);
    /* A mistake late in the document, after values that would have changed. */
    const char *bad = "experiment:\n  name: changed\n  seed: 1\n  output: {dir: x}\n"
                      "  threads: 0\n";
    assert_reco_error(reco_config_load_string(cfg, bad, strlen(bad), "late"), RECO_ECONFIG,
                      "late:5:12: experiment.threads: 0 is out of range [1, 256]");
    reco_experiment_options after = get_experiment(cfg);
    assert_experiment_equal(&after, &before);
    /* Malformed YAML likewise. */
    assert_reco_error(reco_config_load_string(cfg, "experiment: [", 13, "x"), RECO_EFORMAT,
                      "malformed YAML");
    after = get_experiment(cfg);
    assert_experiment_equal(&after, &before);
    reco_config_free(cfg);
}

/* ---- reco_config_set ----------------------------------------------------------------- */

static void test_config_set_each_type(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    assert_int_equal(reco_config_set(cfg, "experiment.seed", "18446744073709551615"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.threads", " 8 "), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.time_limit_s", "2.5e2"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.deterministic", "False"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.verbosity", "warn"), RECO_OK);
    /* Strings are literal: no YAML quoting needed, none removed. */
    assert_int_equal(reco_config_set(cfg, "experiment.name", "run: #1 [x]"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.output.dir", "\"quoted\""), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.output.formats", "[png, csv]"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.seeds", "- 4\n- 5\n- 6\n- 7\n"), RECO_OK);
    reco_experiment_options ex = get_experiment(cfg);
    assert_true(ex.seed == UINT64_MAX);
    assert_int_equal(ex.threads, 8);
    assert_true(ex.time_limit_s == 250.0);
    assert_int_equal(ex.deterministic, 0);
    assert_int_equal(ex.verbosity, RECO_VERBOSITY_WARN);
    assert_string_equal(ex.name, "run: #1 [x]");
    assert_string_equal(ex.output_dir, "\"quoted\"");
    assert_int_equal(ex.n_formats, 2);
    assert_int_equal(ex.formats[0], RECO_OUTPUT_PNG);
    assert_int_equal(ex.formats[1], RECO_OUTPUT_CSV);
    assert_int_equal(ex.n_seeds, 4);
    assert_true(ex.seeds[3] == 7);

    /* A nested mapping or a whole section: the keys given replace, the rest stay. */
    assert_int_equal(reco_config_set(cfg, "experiment.output", "{formats: []}"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment", "{seed: 3, output: {dir: out}}"),
                     RECO_OK);
    ex = get_experiment(cfg);
    assert_true(ex.seed == 3);
    assert_int_equal(ex.threads, 8);
    assert_string_equal(ex.output_dir, "out");
    assert_int_equal(ex.n_formats, 0);
    assert_string_equal(ex.name, "run: #1 [x]");
    assert_round_trip(cfg);
    reco_config_free(cfg);
}

static void test_config_set_errors(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    reco_experiment_options before = get_experiment(cfg);
    static const struct {
        const char *path, *value;
        int code;
        const char *field, *message;
    } cases[] = {
        { "experiment.threads", "0", RECO_ECONFIG, "experiment.threads",
          "experiment.threads: 0 is out of range [1, 256]" },
        { "experiment.threads", "1.5", RECO_ECONFIG, "experiment.threads", "is not an integer" },
        { "experiment.threads", "4294967296", RECO_ECONFIG, "experiment.threads",
          "too large for a 32-bit" },
        { "experiment.seed", "-1", RECO_ECONFIG, "experiment.seed", "is negative" },
        { "experiment.seed", "", RECO_ECONFIG, "experiment.seed", "a value is required" },
        { "experiment.seed", "~", RECO_ECONFIG, "experiment.seed", "a value is required" },
        { "experiment.seed", "[1]", RECO_ECONFIG, "experiment.seed", "found a sequence" },
        { "experiment.seed", "1\n---\n2\n", RECO_ECONFIG, "experiment.seed",
          "a second YAML document" },
        { "experiment.time_limit_s", ".inf", RECO_ECONFIG, "experiment.time_limit_s",
          "NaN and infinity" },
        { "experiment.time_limit_s", "-1", RECO_ECONFIG, "experiment.time_limit_s",
          "-1 is out of range [0, 1e+09]" },
        { "experiment.deterministic", "yes", RECO_ECONFIG, "experiment.deterministic",
          "use true or false" },
        { "experiment.verbosity", "loud", RECO_ECONFIG, "experiment.verbosity",
          "accepted: quiet, error, warn, info, debug" },
        { "experiment.name", "", RECO_ECONFIG, "experiment.name", "must not be empty" },
        { "experiment.name", "\xff", RECO_ECONFIG, "experiment.name", "not valid UTF-8" },
        { "experiment.output.formats", "[json, xml]", RECO_ECONFIG,
          "experiment.output.formats[1]", "unknown value \"xml\"" },
        { "experiment.output.formats", "json", RECO_ECONFIG, "experiment.output.formats",
          "expected a sequence" },
        { "experiment.output.formats", "[json, csv", RECO_EFORMAT, "experiment.output.formats",
          "malformed YAML value" },
        { "experiment.seeds", "[]", RECO_ECONFIG, "experiment.seeds", "too few entries" },
        { "experiment.output", "{dri: x}", RECO_ECONFIG, "experiment.output.dri",
          "did you mean \"dir\"?" },
        { "experiment", "{seed: 1, seed: 2}", RECO_ECONFIG, "experiment.seed", "duplicate key" },
        { "experiment.sed", "7", RECO_ECONFIG, "experiment.sed", "did you mean \"seed\"?" },
        { "experimnt.seed", "7", RECO_ECONFIG, "experimnt", "did you mean \"experiment\"?" },
        { "modle.lr", "7", RECO_ECONFIG, "modle", "did you mean \"model\"?" },
        { "experiment.seed.low", "7", RECO_ECONFIG, "experiment.seed.low",
          "experiment.seed is not a mapping" },
        { "experiment..seed", "7", RECO_ECONFIG, "experiment.", "unknown key \"\"" },
        { "", "7", RECO_ECONFIG, "", "unknown section \"\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = reco_config_set(cfg, cases[i].path, cases[i].value);
        reco_error_info info = RECO_ERROR_INFO_INIT;
        reco_error_get(&info);
        if (rc != cases[i].code || strcmp(info.field, cases[i].field) != 0 ||
            strstr(info.message, cases[i].message) == NULL)
            fail_msg("set(%s, %s): got %s field \"%s\" message \"%s\"", cases[i].path,
                     cases[i].value, reco_status_name(rc), info.field, info.message);
        /* No file, so no location. */
        assert_string_equal(info.source, "");
        reco_experiment_options now = get_experiment(cfg);
        assert_experiment_equal(&now, &before);
    }
    reco_config_free(cfg);
}

/* ---- section accessors --------------------------------------------------------------- */

static void test_config_set_experiment_valid(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_experiment_options in = RECO_EXPERIMENT_OPTIONS_INIT;
    char name[] = "mutable name";
    in.name = name;
    in.seed = 99;
    in.threads = 256;
    in.time_limit_s = 1e9;
    in.deterministic = 7; /* any truth value is stored as 1 */
    in.verbosity = RECO_VERBOSITY_QUIET;
    in.output_dir = "/var/tmp/out";
    in.n_formats = RECO_EXPERIMENT_MAX_FORMATS;
    for (uint32_t i = 0; i < in.n_formats; i++)
        in.formats[i] = (reco_output_format)(1 + i % 3);
    in.n_seeds = RECO_EXPERIMENT_MAX_SEEDS;
    for (uint32_t i = 0; i < in.n_seeds; i++)
        in.seeds[i] = UINT64_MAX - i;
    assert_int_equal(reco_config_set_experiment(cfg, &in), RECO_OK);
    /* Strings were copied. */
    name[0] = 'X';
    reco_experiment_options out = get_experiment(cfg);
    in.name = "mutable name";
    in.deterministic = 1;
    assert_experiment_equal(&out, &in);
    /* Giving back the struct that holds strings borrowed from cfg itself works. */
    out.seed = 5;
    assert_int_equal(reco_config_set_experiment(cfg, &out), RECO_OK);
    reco_experiment_options again = get_experiment(cfg);
    assert_true(again.seed == 5);
    assert_string_equal(again.name, "mutable name");
    assert_string_equal(again.output_dir, "/var/tmp/out");
    assert_round_trip(cfg);
    reco_config_free(cfg);
}

static void test_config_set_experiment_invalid(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    reco_experiment_options before = get_experiment(cfg);
    char long_name[200];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    for (int k = 0; k < 14; k++) {
        /* Valid changes first, then one invalid field: nothing may be applied. */
        reco_experiment_options in = RECO_EXPERIMENT_OPTIONS_INIT;
        in.name = "would change";
        in.seed = 1234;
        const char *want = NULL;
        switch (k) {
        case 0: in.threads = 0; want = "experiment.threads: 0 is out of range [1, 256]"; break;
        case 1: in.threads = 300; want = "experiment.threads: 300 is out of range [1, 256]";
            break;
        case 2: in.time_limit_s = NAN; want = "experiment.time_limit_s: NaN is not allowed";
            break;
        case 3: in.time_limit_s = -INFINITY; want = "experiment.time_limit_s: -inf is not"; break;
        case 4: in.time_limit_s = 1.5e9;
            want = "experiment.time_limit_s: 1.5e+09 is out of range [0, 1e+09]"; break;
        case 5: in.verbosity = (reco_verbosity)7;
            want = "experiment.verbosity: 7 is not one of the accepted values (quiet,"; break;
        case 6: in.name = NULL; want = "experiment.name: a value is required"; break;
        case 7: in.name = ""; want = "experiment.name: the string must not be empty"; break;
        case 8: in.name = long_name; want = "experiment.name: the string is 199 bytes long"; break;
        case 9: in.output_dir = "bad \xc0\x80 utf8"; want = "experiment.output.dir: the string "
                                                             "is not valid UTF-8"; break;
        case 10: in.n_formats = 9; want = "experiment.output.formats: too many entries: 9 (at "
                                          "most 8)"; break;
        case 11: in.formats[1] = (reco_output_format)0;
            want = "experiment.output.formats[1]: 0 is not one of the accepted values"; break;
        case 12: in.n_seeds = 0; want = "experiment.seeds: too few entries: 0 (at least 1)";
            break;
        case 13: in.n_seeds = 33; want = "experiment.seeds: too many entries: 33"; break;
        }
        int rc = reco_config_set_experiment(cfg, &in);
        reco_error_info info = RECO_ERROR_INFO_INIT;
        reco_error_get(&info);
        if (rc != RECO_ECONFIG || strncmp(info.message, want, strlen(want)) != 0)
            fail_msg("case %d: got %s \"%s\", want \"%s\"", k, reco_status_name(rc),
                     info.message, want);
        assert_int_equal(info.line, 0);
        reco_experiment_options now = get_experiment(cfg);
        assert_experiment_equal(&now, &before);
    }
    reco_config_free(cfg);
}

/* ---- writing and round trips --------------------------------------------------------- */

static void test_config_write_format(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    char *text = write_text(cfg, NULL);
    /* The experiment section, exactly; later sections (world, fit, ...) start at the next
     * line without indentation and have their own tests. */
    char *next = strstr(text, "\n  seeds: [1, 2, 3]\n");
    assert_non_null(next);
    next[strlen("\n  seeds: [1, 2, 3]\n")] = '\0';
    assert_string_equal(text,
                        "experiment:\n"
                        "  name: \"recomind\"\n"
                        "  seed: 42\n"
                        "  threads: 1\n"
                        "  time_limit_s: 0\n"
                        "  deterministic: true\n"
                        "  verbosity: info\n"
                        "  output:\n"
                        "    dir: \".\"\n"
                        "    formats: [json, csv]\n"
                        "  seeds: [1, 2, 3]\n");
    free(text);
    reco_config_free(cfg);
}

static void test_config_round_trip_string(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    assert_round_trip(cfg);
    load_good(cfg, "full.yaml");
    assert_round_trip(cfg);

    /* Strings that need escaping: quotes, backslashes, controls, line and paragraph
     * separators, NEL, BOM, non-characters, DEL, astral characters, edge spaces. */
    static const char *const names[] = {
        "q\"uote \\ back", "tab\there\nnew\rline", "\x01\x1f\x7f ctl", " lead and trail ",
        "\xc2\x85 nel \xe2\x80\xa8 ls \xe2\x80\xa9 ps",
        "\xef\xbb\xbf bom \xef\xbf\xbe \xef\xbf\xbf",
        "\xc2\x80\xc2\x9f c1", "\xf0\x9f\x98\x80 emoji \xe2\x82\xac", "#not a comment", "- [x]",
        "'single'", "~", "null", "true", "123", "a: b", "\\u0041", "&anchor *alias !tag",
    };
    static const double times[] = { 0.1, 1.0 / 3.0, 123456789.123, 1e-300, 5e-324, 1e9,
                                    999999999.99999988, 0.0, 2.5, 1e-5, 7.0 };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        reco_experiment_options in = RECO_EXPERIMENT_OPTIONS_INIT;
        in.name = names[i];
        in.output_dir = names[(i + 1) % (sizeof names / sizeof names[0])];
        in.time_limit_s = times[i % (sizeof times / sizeof times[0])];
        in.seed = UINT64_MAX - i;
        int rc = reco_config_set_experiment(cfg, &in);
        if (rc != RECO_OK)
            fail_msg("name %zu: %s", i, reco_error_message());
        assert_round_trip(cfg);
    }
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char value[64];
        reco_experiment_options in = RECO_EXPERIMENT_OPTIONS_INIT;
        in.time_limit_s = times[i];
        assert_int_equal(reco_config_set_experiment(cfg, &in), RECO_OK);
        assert_round_trip(cfg);
        /* The written number also works through reco_config_set. */
        snprintf(value, sizeof value, "%.17g", times[i]);
        assert_int_equal(reco_config_set(cfg, "experiment.time_limit_s", value), RECO_OK);
        assert_true(get_experiment(cfg).time_limit_s == times[i]);
    }
    reco_config_free(cfg);
}

static void test_config_write_string_small_buffer(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    size_t len = 0;
    assert_reco_error(reco_config_write_string(cfg, NULL, 0, &len), RECO_EINVAL,
                      "buffer holds 0 bytes");
    assert_true(len > 100);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    memset(buf, 'Z', len + 1);
    size_t len2 = 0;
    assert_reco_error(reco_config_write_string(cfg, buf, len, &len2), RECO_EINVAL,
                      "needs");
    assert_int_equal(len2, len);
    for (size_t i = 0; i <= len; i++)
        assert_int_equal(buf[i], 'Z'); /* untouched */
    assert_reco_error(reco_config_write_string(cfg, buf, 1, NULL), RECO_EINVAL, "needs");
    assert_int_equal(reco_config_write_string(cfg, buf, len + 1, NULL), RECO_OK);
    assert_int_equal(buf[len], '\0');
    assert_int_equal(strlen(buf), len);
    free(buf);
    reco_config_free(cfg);
}

static void test_config_round_trip_file(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/effective.yaml", dir);
    reco_config *cfg = new_config();
    load_good(cfg, "full.yaml");
    assert_int_equal(reco_config_write_file(cfg, path), RECO_OK);
    /* Overwriting an existing file works too, and leaves no temporary behind. */
    assert_int_equal(reco_config_set(cfg, "experiment.seed", "77"), RECO_OK);
    assert_int_equal(reco_config_write_file(cfg, path), RECO_OK);
    assert_int_equal(count_dir_entries(dir), 1);

    reco_config *again = new_config();
    assert_int_equal(reco_config_load_file(again, path), RECO_OK);
    reco_experiment_options a = get_experiment(cfg);
    reco_experiment_options b = get_experiment(again);
    assert_experiment_equal(&a, &b);
    assert_true(b.seed == 77);

    /* The file holds exactly what write_string gives. */
    size_t len = 0;
    char *text = write_text(cfg, &len);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *file_text = malloc(len + 2);
    assert_non_null(file_text);
    size_t got = fread(file_text, 1, len + 1, f);
    fclose(f);
    assert_int_equal(got, len);
    assert_memory_equal(file_text, text, len);
    free(file_text);
    free(text);
    reco_config_free(again);
    reco_config_free(cfg);
    remove_tree(dir);
}

static void test_config_write_file_errors(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_temp_dir(dir, sizeof dir);
    reco_config *cfg = new_config();
    snprintf(path, sizeof path, "%s/missing-dir/out.yaml", dir);
    assert_reco_error(reco_config_write_file(cfg, path), RECO_EIO, "missing-dir/out.yaml");
    assert_int_equal(count_dir_entries(dir), 0);
    /* The target is a directory: the rename fails and the temporary file is removed. */
    snprintf(path, sizeof path, "%s/taken", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_reco_error(reco_config_write_file(cfg, path), RECO_EIO, "cannot write");
    assert_int_equal(count_dir_entries(dir), 1);
    assert_int_equal(count_dir_entries(path), 0);
    assert_reco_error(reco_config_write_file(cfg, ""), RECO_EINVAL, "path is empty");
    reco_config_free(cfg);
    remove_tree(dir);
}

/* ---- allocators ---------------------------------------------------------------------- */

/* One full use of a handle with allocator `a`; returns the first failure's code (or OK).
 * Every step is checked for being atomic. */
static int exercise(const reco_allocator *a, const char *out_path)
{
    reco_config_options o = RECO_CONFIG_OPTIONS_INIT;
    o.allocator = a;
    reco_config *cfg = NULL;
    int rc = reco_config_create(&cfg, &o);
    if (rc != RECO_OK) {
        assert_null(cfg);
        return rc;
    }
    char path[1024];
    data_path(path, sizeof path, "good/full.yaml");
    reco_experiment_options before = get_experiment(cfg);
    rc = reco_config_load_file(cfg, path);
    reco_experiment_options after = get_experiment(cfg);
    if (rc != RECO_OK)
        assert_experiment_equal(&after, &before);
    before = after;
    if (rc == RECO_OK) {
        reco_config_origin o1 = RECO_CONFIG_ORIGIN_INIT, o2 = RECO_CONFIG_ORIGIN_INIT;
        assert_int_equal(reco_config_get_origin(&o1, cfg, "experiment.name"), RECO_OK);
        assert_int_equal(o1.kind, RECO_CONFIG_ORIGIN_FILE);
        assert_int_equal(o1.line, 3);
        rc = reco_config_set(cfg, "experiment.name", "renamed");
        after = get_experiment(cfg);
        assert_int_equal(reco_config_get_origin(&o2, cfg, "experiment.name"), RECO_OK);
        if (rc != RECO_OK) { /* the origin is kept with the value */
            assert_experiment_equal(&after, &before);
            assert_int_equal(o2.kind, RECO_CONFIG_ORIGIN_FILE);
            assert_int_equal(o2.line, 3);
        } else {
            assert_int_equal(o2.kind, RECO_CONFIG_ORIGIN_SET);
            assert_string_equal(o2.source, "experiment.name=renamed");
        }
    }
    if (rc == RECO_OK) {
        rc = reco_config_set(cfg, "experiment.seeds", "[9, 8]");
        after = get_experiment(cfg);
    }
    if (rc == RECO_OK) {
        reco_experiment_options in = RECO_EXPERIMENT_OPTIONS_INIT;
        in.name = "set";
        in.output_dir = "dir";
        before = get_experiment(cfg);
        rc = reco_config_set_experiment(cfg, &in);
        after = get_experiment(cfg);
        if (rc != RECO_OK)
            assert_experiment_equal(&after, &before);
    }
    if (rc == RECO_OK) {
        char buf[4096];
        rc = reco_config_write_string(cfg, buf, sizeof buf, NULL);
    }
    if (rc == RECO_OK)
        rc = reco_config_write_file(cfg, out_path);
    reco_config_free(cfg);
    return rc;
}

static void test_config_counting_allocator(void **state)
{
    (void)state;
    char dir[256], out[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/out.yaml", dir);
    counting c = { 0, 0, 0, 0 };
    reco_allocator a = RECO_ALLOCATOR_INIT;
    a.alloc = counting_alloc;
    a.free = counting_free;
    a.opaque = &c;
    size_t live = reco_live_handles();
    assert_int_equal(exercise(&a, out), RECO_OK);
    assert_true(c.allocs > 0);
    assert_int_equal(c.allocs, c.frees);
    assert_int_equal(reco_live_handles(), live);
    remove_tree(dir);
}

static void test_config_failing_allocator(void **state)
{
    (void)state;
    char dir[256], out[512];
    make_temp_dir(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/out.yaml", dir);
    reco_allocator a = RECO_ALLOCATOR_INIT;
    a.alloc = counting_alloc;
    a.free = counting_free;
    counting total = { 0, 0, 0, 0 };
    a.opaque = &total;
    assert_int_equal(exercise(&a, out), RECO_OK);
    /* create (2), load (file, scratch, 2 strings), set (2 scratches, 1 string),
     * set_experiment (scratch, 2 strings), write_file (text, temporary name) */
    assert_true(total.calls >= 14);
    size_t live = reco_live_handles();
    for (size_t n = 1; n <= total.calls; n++) {
        counting c = { 0, 0, 0, n };
        a.opaque = &c;
        int rc = exercise(&a, out);
        if (rc != RECO_ENOMEM)
            fail_msg("allocation %zu of %zu failed but the result was %s: %s", n, total.calls,
                     reco_status_name(rc), reco_error_message());
        assert_int_equal(c.allocs, c.frees);
        assert_int_equal(reco_live_handles(), live);
        assert_int_equal(count_dir_entries(dir), 1); /* no temporary left behind */
    }
    remove_tree(dir);
}

/* ---- origins ------------------------------------------------------------------------- */

static reco_config_origin origin_of(const reco_config *cfg, const char *path)
{
    reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
    if (reco_config_get_origin(&o, cfg, path) != RECO_OK)
        fail_msg("reco_config_get_origin(%s): %s", path, reco_error_message());
    return o;
}

static void assert_origin(const reco_config *cfg, const char *path, int kind,
                          const char *source, uint32_t line, uint32_t column)
{
    reco_config_origin o = origin_of(cfg, path);
    if ((int)o.kind != kind || strcmp(o.source, source) != 0 || o.line != line ||
        o.column != column)
        fail_msg("%s: origin %d \"%s\" %u:%u, expected %d \"%s\" %u:%u", path, (int)o.kind,
                 o.source, o.line, o.column, kind, source, line, column);
}

static void test_config_origin_file(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    /* every option a fresh handle holds is a default */
    assert_origin(cfg, "model.n_items", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    assert_origin(cfg, "experiment.seeds", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    static const char yaml[] =
        "experiment:\n"
        "  seeds: [4, 5]\n"
        "  output: {dir: out, formats: [json]}\n"
        "model:\n"
        "  dim: 64\n"                 /* equal to the default: still given */
        "  n_items: 300\n"
        "defaults: &d {gamma: 0.5}\n"; /* not a section: the load fails */
    assert_reco_error(reco_config_load_string(cfg, yaml, sizeof yaml - 1, "exp.yaml"),
                      RECO_ECONFIG, "unknown section");
    /* a failed load keeps the previous origins */
    assert_origin(cfg, "model.n_items", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    const size_t good = sizeof yaml - 1 - strlen("defaults: &d {gamma: 0.5}\n");
    assert_int_equal(reco_config_load_string(cfg, yaml, good, "exp.yaml"), RECO_OK);
    /* the key's line and column, 1-based, as in error messages */
    assert_origin(cfg, "experiment.seeds", RECO_CONFIG_ORIGIN_FILE, "exp.yaml", 2, 3);
    assert_origin(cfg, "experiment.output.dir", RECO_CONFIG_ORIGIN_FILE, "exp.yaml", 3, 12);
    assert_origin(cfg, "experiment.output.formats", RECO_CONFIG_ORIGIN_FILE, "exp.yaml", 3,
                  22);
    assert_origin(cfg, "model.dim", RECO_CONFIG_ORIGIN_FILE, "exp.yaml", 5, 3);
    assert_origin(cfg, "model.n_items", RECO_CONFIG_ORIGIN_FILE, "exp.yaml", 6, 3);
    assert_origin(cfg, "model.lookback", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    assert_origin(cfg, "experiment.name", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    /* aliases: the option is where its key is */
    static const char aliased[] = "qnet: &q {gamma: 0.5}\nexperiment: {name: x}\n";
    assert_int_equal(reco_config_load_string(cfg, aliased, sizeof aliased - 1, NULL), RECO_OK);
    assert_origin(cfg, "qnet.gamma", RECO_CONFIG_ORIGIN_FILE, "<string>", 1, 11);
    /* a load replaces every origin: the previous text's options are defaults again */
    assert_origin(cfg, "model.n_items", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    char path[1024];
    data_path(path, sizeof path, "good/partial.yaml");
    assert_int_equal(reco_config_load_file(cfg, path), RECO_OK);
    reco_config_origin o = origin_of(cfg, "experiment.seed");
    assert_int_equal(o.kind, RECO_CONFIG_ORIGIN_FILE);
    assert_string_equal(o.source, path);
    assert_true(o.line > 0 && o.column > 0);
    assert_origin(cfg, "qnet.gamma", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    reco_config_reset(cfg);
    assert_origin(cfg, "experiment.seed", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    reco_config_free(cfg);
}

static void test_config_origin_set(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    static const char yaml[] = "experiment: {output: {dir: out, formats: [json]}}\n";
    assert_int_equal(reco_config_load_string(cfg, yaml, sizeof yaml - 1, "e.yaml"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "model.n_items", "5"), RECO_OK);
    assert_origin(cfg, "model.n_items", RECO_CONFIG_ORIGIN_SET, "model.n_items=5", 0, 0);
    /* a string is literal; its origin quotes the call */
    assert_int_equal(reco_config_set(cfg, "experiment.output.dir", "a b: c"), RECO_OK);
    assert_origin(cfg, "experiment.output.dir", RECO_CONFIG_ORIGIN_SET,
                  "experiment.output.dir=a b: c", 0, 0);
    /* a mapping sets the options it names, and only those */
    assert_int_equal(reco_config_set(cfg, "replay", "{lookback: 7, alpha: 0.5}"), RECO_OK);
    assert_origin(cfg, "replay.lookback", RECO_CONFIG_ORIGIN_SET,
                  "replay={lookback: 7, alpha: 0.5}", 0, 0);
    assert_origin(cfg, "replay.alpha", RECO_CONFIG_ORIGIN_SET,
                  "replay={lookback: 7, alpha: 0.5}", 0, 0);
    assert_origin(cfg, "replay.capacity", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    assert_origin(cfg, "experiment.output.formats", RECO_CONFIG_ORIGIN_FILE, "e.yaml", 1, 33);
    /* a failed set changes neither values nor origins */
    assert_reco_error(reco_config_set(cfg, "replay", "{lookback: 8, alpha: 2}"), RECO_ECONFIG,
                      "replay.alpha");
    assert_origin(cfg, "replay.lookback", RECO_CONFIG_ORIGIN_SET,
                  "replay={lookback: 7, alpha: 0.5}", 0, 0);
    /* the last call wins */
    assert_int_equal(reco_config_set(cfg, "replay.lookback", "9"), RECO_OK);
    assert_origin(cfg, "replay.lookback", RECO_CONFIG_ORIGIN_SET, "replay.lookback=9", 0, 0);
    assert_origin(cfg, "replay.alpha", RECO_CONFIG_ORIGIN_SET,
                  "replay={lookback: 7, alpha: 0.5}", 0, 0);
    reco_config_free(cfg);
}

static void test_config_origin_struct(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    assert_int_equal(reco_config_load_string(cfg, "model:\n  dim: 24\n", 17, "m.yaml"), RECO_OK);
    reco_model_options mo = RECO_MODEL_OPTIONS_INIT;
    assert_int_equal(reco_config_get_model(&mo, cfg), RECO_OK);
    /* setting back what get gave changes nothing, and marks nothing as given */
    assert_int_equal(reco_config_set_model(cfg, &mo), RECO_OK);
    assert_origin(cfg, "model.n_items", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    assert_origin(cfg, "model.dim", RECO_CONFIG_ORIGIN_FILE, "m.yaml", 2, 3);
    /* the values a call changes are given by it; the others keep their origin */
    mo.n_items = 77;
    mo.version = 1; /* the fields version 2 added take their defaults */
    assert_int_equal(reco_config_set_model(cfg, &mo), RECO_OK);
    assert_origin(cfg, "model.n_items", RECO_CONFIG_ORIGIN_STRUCT, "reco_config_set_model", 0,
                  0);
    assert_origin(cfg, "model.dim", RECO_CONFIG_ORIGIN_FILE, "m.yaml", 2, 3);
    assert_origin(cfg, "model.clip_norm", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    assert_origin(cfg, "model.long_len", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    assert_origin(cfg, "qnet.gamma", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    /* a version-1 struct resets a later field the file had changed: back to the default */
    assert_int_equal(reco_config_load_string(cfg, "model:\n  long_len: 4\n", 21, "l.yaml"),
                     RECO_OK);
    assert_origin(cfg, "model.long_len", RECO_CONFIG_ORIGIN_FILE, "l.yaml", 2, 3);
    assert_int_equal(reco_config_set_model(cfg, &mo), RECO_OK);
    assert_origin(cfg, "model.long_len", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    /* nested mappings of a section, strings and lists too; a failed call marks nothing */
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    assert_int_equal(reco_config_get_experiment(&ex, cfg), RECO_OK);
    ex.threads = 0;
    ex.output_dir = "elsewhere";
    assert_reco_error(reco_config_set_experiment(cfg, &ex), RECO_ECONFIG,
                      "experiment.threads");
    assert_origin(cfg, "experiment.output.dir", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    ex.threads = 2;
    assert_int_equal(reco_config_set_experiment(cfg, &ex), RECO_OK);
    assert_origin(cfg, "experiment.output.dir", RECO_CONFIG_ORIGIN_STRUCT,
                  "reco_config_set_experiment", 0, 0);
    assert_origin(cfg, "experiment.threads", RECO_CONFIG_ORIGIN_STRUCT,
                  "reco_config_set_experiment", 0, 0);
    assert_origin(cfg, "experiment.output.formats", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    assert_origin(cfg, "experiment.evaluation.sessions", RECO_CONFIG_ORIGIN_DEFAULT, "", 0, 0);
    ex.n_formats = 1;
    assert_int_equal(reco_config_set_experiment(cfg, &ex), RECO_OK);
    assert_origin(cfg, "experiment.output.formats", RECO_CONFIG_ORIGIN_STRUCT,
                  "reco_config_set_experiment", 0, 0);
    assert_origin(cfg, "experiment.threads", RECO_CONFIG_ORIGIN_STRUCT,
                  "reco_config_set_experiment", 0, 0);
    reco_config_free(cfg);
}

static void test_config_origin_errors(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_config_origin o = RECO_CONFIG_ORIGIN_INIT;
    assert_reco_error(reco_config_get_origin(NULL, cfg, "model.dim"), RECO_EINVAL,
                      "out is NULL");
    assert_reco_error(reco_config_get_origin(&o, NULL, "model.dim"), RECO_EINVAL,
                      "cfg is NULL");
    assert_reco_error(reco_config_get_origin(&o, cfg, NULL), RECO_EINVAL, "path is NULL");
    o.version = 0;
    assert_reco_error(reco_config_get_origin(&o, cfg, "model.dim"), RECO_EVERSION,
                      "version 0");
    o.version = RECO_CONFIG_ORIGIN_VERSION + 1;
    assert_reco_error(reco_config_get_origin(&o, cfg, "model.dim"), RECO_EVERSION,
                      "reco_config_origin");
    assert_int_equal(o.version, RECO_CONFIG_ORIGIN_VERSION + 1); /* not written */
    o.version = RECO_CONFIG_ORIGIN_VERSION;
    assert_reco_error(reco_config_get_origin(&o, cfg, "model.n_itmes"), RECO_ECONFIG,
                      "did you mean \"n_items\"?");
    assert_reco_error(reco_config_get_origin(&o, cfg, "modl.dim"), RECO_ECONFIG,
                      "did you mean \"model\"?");
    assert_reco_error(reco_config_get_origin(&o, cfg, "model"), RECO_ECONFIG,
                      "model: a mapping, not an option; name one of its options (n_items, dim");
    assert_reco_error(reco_config_get_origin(&o, cfg, "experiment.output"), RECO_ECONFIG,
                      "experiment.output: a mapping, not an option; name one of its options "
                      "(dir, formats)");
    assert_reco_error(reco_config_get_origin(&o, cfg, "model.dim.x"), RECO_ECONFIG,
                      "model.dim is not a mapping");
    assert_reco_error(reco_config_get_origin(&o, cfg, "experiment.seeds[0]"), RECO_ECONFIG,
                      "unknown key");
    reco_config_free(cfg);
}

/* Many overrides keep one text per option, not one per call. */
static void test_config_origin_memory_bounded(void **state)
{
    (void)state;
    counting c = { 0, 0, 0, 0 };
    reco_allocator a = RECO_ALLOCATOR_INIT;
    a.alloc = counting_alloc;
    a.free = counting_free;
    a.opaque = &c;
    reco_config_options opts = RECO_CONFIG_OPTIONS_INIT;
    opts.allocator = &a;
    reco_config *cfg = NULL;
    assert_int_equal(reco_config_create(&cfg, &opts), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "model.dim", "8"), RECO_OK);
    assert_int_equal(reco_config_set(cfg, "experiment.name", "n"), RECO_OK);
    const size_t live = c.allocs - c.frees;
    char v[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(v, sizeof v, "%d", i + 1);
        assert_int_equal(reco_config_set(cfg, "model.dim", v), RECO_OK);
        assert_int_equal(reco_config_set(cfg, "experiment.name", v), RECO_OK);
        assert_int_equal(c.allocs - c.frees, live);
    }
    assert_origin(cfg, "model.dim", RECO_CONFIG_ORIGIN_SET, "model.dim=1000", 0, 0);
    assert_origin(cfg, "experiment.name", RECO_CONFIG_ORIGIN_SET, "experiment.name=1000", 0,
                  0);
    reco_config_free(cfg);
    assert_int_equal(c.allocs, c.frees);
}

/* ---- robustness -------------------------------------------------------------------- */

static void test_config_hostile_inputs(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    /* Deep nesting: libyaml's own depth limit answers, we do not recurse into it. */
    enum { DEPTH = 20000 };
    static char deep[2 * DEPTH + 32];
    const size_t depth = DEPTH;
    size_t n = (size_t)sprintf(deep, "experiment: {seeds: ");
    memset(deep + n, '[', depth);
    memset(deep + n + depth, ']', depth);
    n += 2 * depth;
    deep[n++] = '}';
    int rc = reco_config_load_string(cfg, deep, n, "deep");
    assert_true(rc == RECO_EFORMAT || rc == RECO_ECONFIG);
    /* An alias cycle: the walk follows the schema, so it stops. */
    const char *cycle = "experiment: &a\n  output: *a\n";
    assert_reco_error(reco_config_load_string(cfg, cycle, strlen(cycle), "cycle"),
                      RECO_ECONFIG, "unknown key \"output\" in experiment.output");
    /* A long list: the entry count is checked before any entry is parsed. */
    const char *big = "experiment:\n  name: &n big\n  output: {dir: *n}\n"
                      "  seeds: [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,\n"
                      "          1,1,1,1,1,1,1,1,1,1]\n";
    assert_reco_error(reco_config_load_string(cfg, big, strlen(big), "big"), RECO_ECONFIG,
                      "big:4:10: experiment.seeds: too many entries: 33");
    /* A syntax error in a second document is still a syntax error. */
    const char *two = "experiment: {}\n--- [\n";
    assert_reco_error(reco_config_load_string(cfg, two, strlen(two), "two"), RECO_EFORMAT,
                      "two:3:1: malformed YAML");
    /* NUL bytes and other controls in the input stream. */
    assert_reco_error(reco_config_load_string(cfg, "experiment:\0{}", 14, "nul"), RECO_EFORMAT,
                      "nul:1:12:");
    /* Random mutations of a good file never crash and always give a status. */
    char path[1024];
    data_path(path, sizeof path, "good/full.yaml");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char base[2048];
    size_t len = fread(base, 1, sizeof base, f);
    fclose(f);
    uint64_t s = 0x9E3779B97F4A7C15u;
    char buf[2048];
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, base, len);
        size_t use = len;
        for (int m = 0; m < 1 + iter % 4; m++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(s >> 33) % use;
            static const char pool[] = "{}[],:-#&*!|>'\"\t\n ~0x.e\\\x01\x80\xff";
            buf[at] = pool[(s >> 20) % (sizeof pool - 1)];
            if ((s & 15) == 0)
                use = at + 1;
        }
        rc = reco_config_load_string(cfg, buf, use, "mutant");
        assert_true(rc == RECO_OK || rc == RECO_ECONFIG || rc == RECO_EFORMAT);
        if (rc != RECO_OK)
            assert_true(strstr(reco_error_message(), "mutant") != NULL);
        assert_round_trip(cfg);
    }
    reco_config_free(cfg);
}

static void test_config_null_arguments(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_experiment_options ex = RECO_EXPERIMENT_OPTIONS_INIT;
    char buf[16];
    size_t len;
    assert_reco_error(reco_config_options_init(NULL, 1), RECO_EINVAL, "opts is NULL");
    assert_reco_error(reco_experiment_options_init(NULL, 1), RECO_EINVAL, "opts is NULL");
    assert_reco_error(reco_config_create(NULL, NULL), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_config_load_file(NULL, "x.yaml"), RECO_EINVAL, "cfg is NULL");
    assert_reco_error(reco_config_load_file(cfg, NULL), RECO_EINVAL, "path is NULL");
    assert_reco_error(reco_config_load_string(NULL, "", 0, NULL), RECO_EINVAL, "cfg is NULL");
    assert_reco_error(reco_config_load_string(cfg, NULL, 0, NULL), RECO_EINVAL, "yaml is NULL");
    assert_reco_error(reco_config_set(NULL, "experiment.seed", "1"), RECO_EINVAL, "cfg is NULL");
    assert_reco_error(reco_config_set(cfg, NULL, "1"), RECO_EINVAL, "path is NULL");
    assert_reco_error(reco_config_set(cfg, "experiment.seed", NULL), RECO_EINVAL,
                      "value is NULL");
    assert_reco_error(reco_config_write_file(NULL, "x.yaml"), RECO_EINVAL, "cfg is NULL");
    assert_reco_error(reco_config_write_file(cfg, NULL), RECO_EINVAL, "path is NULL");
    assert_reco_error(reco_config_write_string(NULL, buf, sizeof buf, &len), RECO_EINVAL,
                      "cfg is NULL");
    assert_reco_error(reco_config_write_string(cfg, NULL, 10, &len), RECO_EINVAL,
                      "buf is NULL");
    assert_reco_error(reco_config_get_experiment(NULL, cfg), RECO_EINVAL, "out is NULL");
    assert_reco_error(reco_config_get_experiment(&ex, NULL), RECO_EINVAL, "cfg is NULL");
    assert_reco_error(reco_config_set_experiment(NULL, &ex), RECO_EINVAL, "cfg is NULL");
    assert_reco_error(reco_config_set_experiment(cfg, NULL), RECO_EINVAL, "in is NULL");
    reco_config_free(NULL);
    reco_config_reset(NULL);
    reco_config_free(cfg);
}

/* ---- qnet, replay and explorer sections ------------------------------------------------ */

static const char rl_snippet[] =
    "qnet:\n"
    "  gamma: 0.95\n"
    "  huber_delta: 2.5\n"
    "  target_period: 250\n"
    "  tau: 0.005\n"
    "  priority_eps: 0.01\n"
    "  max_abs_q: 1000\n"
    "  max_loss: 5e5\n"
    "  keep_last_good: false\n"
    "replay:\n"
    "  capacity: 50000\n"
    "  record_capacity: 120000\n"
    "  lookback: 10\n"
    "  kind: uniform\n"
    "  seed: 9\n"
    "  alpha: 0.7\n"
    "  beta0: 0.5\n"
    "  beta_final: 0.9\n"
    "  beta_steps: 2000\n"
    "  priority_eps: 1e-5\n"
    "  initial_priority: 2\n"
    "  user_dim: 3\n"
    "  long_len: 4\n"
    "  segment_capacity: 7000\n"
    "explorer:\n"
    "  rule: epsilon_greedy\n"
    "  epsilon:\n"
    "    kind: linear\n"
    "    start: 1\n"
    "    end: 0.05\n"
    "    steps: 100000\n"
    "  tau:\n"
    "    kind: exponential\n"
    "    start: 2\n"
    "    end: 0.5\n"
    "    rate: 0.999\n"
    "  top_k_fraction: 0.1\n"
    "  top_k_count: 7\n"
    "  seed: 5\n"
    "  stream: 3\n"
    "  max_candidates: 300\n";

/* Field by field: the struct has tail padding that copies need not preserve. */
static void assert_replay_equal(const reco_replay_options *a, const reco_replay_options *b)
{
    assert_true(a->version == b->version && a->allocator == b->allocator);
    assert_true(a->capacity == b->capacity && a->record_capacity == b->record_capacity);
    assert_true(a->lookback == b->lookback && a->kind == b->kind && a->seed == b->seed);
    assert_memory_equal(&a->alpha, &b->alpha, sizeof a->alpha);
    assert_memory_equal(&a->beta0, &b->beta0, sizeof a->beta0);
    assert_memory_equal(&a->beta_final, &b->beta_final, sizeof a->beta_final);
    assert_true(a->beta_steps == b->beta_steps);
    assert_memory_equal(&a->priority_eps, &b->priority_eps, sizeof a->priority_eps);
    assert_memory_equal(&a->initial_priority, &b->initial_priority, sizeof(float));
    assert_true(a->context == b->context && a->user_dim == b->user_dim);
    assert_true(a->long_len == b->long_len && a->segment_capacity == b->segment_capacity);
}

static void assert_schedule_equal(const reco_explorer_schedule *a,
                                  const reco_explorer_schedule *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_memory_equal(&a->start, &b->start, sizeof a->start);
    assert_memory_equal(&a->end, &b->end, sizeof a->end);
    assert_true(a->steps == b->steps);
    assert_memory_equal(&a->rate, &b->rate, sizeof a->rate);
}

static void assert_explorer_equal(const reco_explorer_options *a,
                                  const reco_explorer_options *b)
{
    assert_true(a->version == b->version && a->allocator == b->allocator);
    assert_int_equal(a->rule, b->rule);
    assert_schedule_equal(&a->epsilon, &b->epsilon);
    assert_schedule_equal(&a->tau, &b->tau);
    assert_memory_equal(&a->top_k_fraction, &b->top_k_fraction, sizeof(double));
    assert_true(a->top_k_count == b->top_k_count && a->seed == b->seed);
    assert_true(a->stream == b->stream && a->max_candidates == b->max_candidates);
}

static void assert_rl_sections_equal(const reco_config *a, const reco_config *b)
{
    reco_qnet_options qa = RECO_QNET_OPTIONS_INIT, qb = RECO_QNET_OPTIONS_INIT;
    reco_replay_options ra = RECO_REPLAY_OPTIONS_INIT, rb = RECO_REPLAY_OPTIONS_INIT;
    reco_explorer_options ea = RECO_EXPLORER_OPTIONS_INIT, eb = RECO_EXPLORER_OPTIONS_INIT;
    assert_int_equal(reco_config_get_qnet(&qa, a), RECO_OK);
    assert_int_equal(reco_config_get_qnet(&qb, b), RECO_OK);
    assert_int_equal(reco_config_get_replay(&ra, a), RECO_OK);
    assert_int_equal(reco_config_get_replay(&rb, b), RECO_OK);
    assert_int_equal(reco_config_get_explorer(&ea, a), RECO_OK);
    assert_int_equal(reco_config_get_explorer(&eb, b), RECO_OK);
    /* field by field: the structs' padding bytes are unspecified */
    assert_int_equal(qa.version, qb.version);
    assert_ptr_equal(qa.allocator, qb.allocator);
    assert_ptr_equal(qa.model, qb.model);
    assert_true(qa.gamma == qb.gamma && qa.huber_delta == qb.huber_delta);
    assert_int_equal(qa.target_period, qb.target_period);
    assert_true(qa.tau == qb.tau && qa.priority_eps == qb.priority_eps);
    assert_true(qa.max_abs_q == qb.max_abs_q && qa.max_loss == qb.max_loss);
    assert_int_equal(qa.keep_last_good, qb.keep_last_good);
    assert_replay_equal(&ra, &rb);
    assert_explorer_equal(&ea, &eb);
}

static void test_config_rl_sections_defaults(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_qnet_options q, qd = RECO_QNET_OPTIONS_INIT;
    reco_replay_options r, rd = RECO_REPLAY_OPTIONS_INIT;
    reco_explorer_options e, ed = RECO_EXPLORER_OPTIONS_INIT;
    memcpy(&q, &qd, sizeof q);
    memcpy(&r, &rd, sizeof r);
    memcpy(&e, &ed, sizeof e);
    q.gamma = 0.0f;
    r.capacity = 3;
    e.rule = RECO_EXPLORER_GREEDY;
    e.epsilon.start = 0.7;
    assert_int_equal(reco_config_get_qnet(&q, cfg), RECO_OK);
    assert_int_equal(reco_config_get_replay(&r, cfg), RECO_OK);
    assert_int_equal(reco_config_get_explorer(&e, cfg), RECO_OK);
    assert_memory_equal(&q, &qd, sizeof q);
    assert_replay_equal(&r, &rd);
    assert_explorer_equal(&e, &ed);
    /* an empty section is the defaults too */
    static const char empty[] = "qnet: {}\nreplay: {}\nexplorer: {}\n";
    assert_int_equal(reco_config_load_string(cfg, empty, strlen(empty), "empty"), RECO_OK);
    assert_int_equal(reco_config_get_qnet(&q, cfg), RECO_OK);
    assert_int_equal(reco_config_get_explorer(&e, cfg), RECO_OK);
    assert_memory_equal(&q, &qd, sizeof q);
    assert_explorer_equal(&e, &ed);
    reco_config_free(cfg);
}

static void test_config_rl_sections_round_trip(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    assert_int_equal(reco_config_load_string(cfg, rl_snippet, strlen(rl_snippet), "rl"),
                     RECO_OK);
    reco_qnet_options q = RECO_QNET_OPTIONS_INIT;
    reco_replay_options r = RECO_REPLAY_OPTIONS_INIT;
    reco_explorer_options e = RECO_EXPLORER_OPTIONS_INIT;
    assert_int_equal(reco_config_get_qnet(&q, cfg), RECO_OK);
    assert_int_equal(reco_config_get_replay(&r, cfg), RECO_OK);
    assert_int_equal(reco_config_get_explorer(&e, cfg), RECO_OK);
    assert_true(q.gamma == 0.95f && q.huber_delta == 2.5f && q.target_period == 250);
    assert_true(q.tau == 0.005f && q.priority_eps == 0.01f && q.max_abs_q == 1000.0f);
    assert_true(q.max_loss == 5e5f && q.keep_last_good == 0 && q.model == NULL);
    assert_true(r.capacity == 50000 && r.record_capacity == 120000 && r.lookback == 10);
    assert_true(r.kind == RECO_REPLAY_UNIFORM && r.seed == 9 && r.alpha == 0.7f);
    assert_true(r.beta0 == 0.5f && r.beta_final == 0.9f && r.beta_steps == 2000);
    assert_true(r.priority_eps == 1e-5f && r.initial_priority == 2.0f);
    assert_true(r.context == 0 && r.user_dim == 3 && r.long_len == 4);
    assert_int_equal(r.segment_capacity, 7000);
    assert_int_equal(e.rule, RECO_EXPLORER_EPSILON_GREEDY);
    assert_int_equal(e.epsilon.kind, RECO_SCHEDULE_LINEAR);
    assert_true(e.epsilon.start == 1.0 && e.epsilon.end == 0.05 && e.epsilon.steps == 100000);
    assert_int_equal(e.tau.kind, RECO_SCHEDULE_EXPONENTIAL);
    assert_true(e.tau.start == 2.0 && e.tau.end == 0.5 && e.tau.rate == 0.999);
    assert_true(e.top_k_fraction == 0.1 && e.top_k_count == 7 && e.seed == 5);
    assert_true(e.stream == 3 && e.max_candidates == 300);

    /* write -> load gives the same structs; floats are written with few digits */
    size_t len = 0;
    char *text = write_text(cfg, &len);
    assert_non_null(strstr(text, "gamma: 0.95\n"));
    assert_non_null(strstr(text, "kind: uniform\n"));
    assert_non_null(strstr(text, "rule: epsilon_greedy\n"));
    reco_config *again = new_config();
    if (reco_config_load_string(again, text, len, "written") != RECO_OK)
        fail_msg("%s\n%s", reco_error_message(), text);
    assert_rl_sections_equal(cfg, again);
    free(text);
    assert_round_trip(cfg);

    /* set -> get, and set refuses a bad value naming the option, leaving cfg unchanged */
    q.gamma = 0.5f;
    r.kind = RECO_REPLAY_PROPORTIONAL;
    e.tau.start = 3.0;
    assert_int_equal(reco_config_set_qnet(again, &q), RECO_OK);
    assert_int_equal(reco_config_set_replay(again, &r), RECO_OK);
    assert_int_equal(reco_config_set_explorer(again, &e), RECO_OK);
    reco_qnet_options q2 = RECO_QNET_OPTIONS_INIT;
    assert_int_equal(reco_config_get_qnet(&q2, again), RECO_OK);
    assert_true(q2.gamma == 0.5f);
    q.tau = 2.0f;
    assert_reco_error(reco_config_set_qnet(again, &q), RECO_ECONFIG, "qnet.tau");
    r.kind = 7;
    assert_reco_error(reco_config_set_replay(again, &r), RECO_ECONFIG, "replay.kind");
    e.epsilon.end = 1.5;
    assert_reco_error(reco_config_set_explorer(again, &e), RECO_ECONFIG, "explorer.epsilon.end");
    assert_int_equal(reco_config_get_qnet(&q2, again), RECO_OK);
    assert_true(q2.tau == 0.005f);
    assert_int_equal(reco_config_set(again, "explorer.tau.kind", "linear"), RECO_OK);
    assert_reco_error(reco_config_set(again, "replay.alpha", "2"), RECO_ECONFIG, "replay.alpha");
    assert_int_equal(reco_config_get_qnet(NULL, again), RECO_EINVAL);
    assert_int_equal(reco_config_set_explorer(again, NULL), RECO_EINVAL);
    reco_config_free(again);
    reco_config_free(cfg);
}

/* ---- trainer and sim sections ---------------------------------------------------------- */

static const char trainer_sim_snippet[] =
    "trainer:\n"
    "  n_generators: 4\n"
    "  sessions_per_generator: 8\n"
    "  segment_len: 16\n"
    "  replay_ratio: 0.5\n"
    "  warmup: 2000\n"
    "  batch_size: 64\n"
    "  n_candidates: 128\n"
    "  snapshot_period: 5\n"
    "  max_staleness: 20\n"
    "  total_updates: 0\n"
    "  total_transitions: 500000\n"
    "  n_users: 5000\n"
    "  seed: 11\n"
    "  metrics_interval: 50\n"
    "  metrics_csv: \"out/train metrics.csv\"\n"
    "  checkpoint_every: 500\n"
    "  checkpoint_dir: out/ckpt\n"
    "sim:\n"
    "  seed: 13\n"
    "  max_sessions: 1024\n"
    "  max_session_len: 300\n"
    "  n_candidates: 250\n";

/* Field by field: padding bytes are unspecified. Strings are compared by content. */
static void assert_trainer_equal(const reco_trainer_options *a, const reco_trainer_options *b)
{
    assert_int_equal(a->version, b->version);
    assert_ptr_equal(a->allocator, b->allocator);
    assert_int_equal(a->n_generators, b->n_generators);
    assert_int_equal(a->sessions_per_generator, b->sessions_per_generator);
    assert_int_equal(a->segment_len, b->segment_len);
    assert_memory_equal(&a->replay_ratio, &b->replay_ratio, sizeof(double));
    assert_true(a->warmup == b->warmup);
    assert_int_equal(a->batch_size, b->batch_size);
    assert_int_equal(a->n_candidates, b->n_candidates);
    assert_int_equal(a->snapshot_period, b->snapshot_period);
    assert_int_equal(a->max_staleness, b->max_staleness);
    assert_true(a->total_updates == b->total_updates);
    assert_true(a->total_transitions == b->total_transitions);
    assert_true(a->n_users == b->n_users && a->seed == b->seed);
    assert_true(a->metrics_interval == b->metrics_interval);
    if (a->metrics_csv == NULL || b->metrics_csv == NULL)
        assert_ptr_equal(a->metrics_csv, b->metrics_csv);
    else
        assert_string_equal(a->metrics_csv, b->metrics_csv);
    assert_true(a->progress == b->progress);
    assert_ptr_equal(a->progress_payload, b->progress_payload);
    assert_true(a->checkpoint_every == b->checkpoint_every);
    if (a->checkpoint_dir == NULL || b->checkpoint_dir == NULL)
        assert_ptr_equal(a->checkpoint_dir, b->checkpoint_dir);
    else
        assert_string_equal(a->checkpoint_dir, b->checkpoint_dir);
}

static void assert_sim_equal(const reco_sim_options *a, const reco_sim_options *b)
{
    assert_int_equal(a->version, b->version);
    assert_ptr_equal(a->allocator, b->allocator);
    assert_true(a->seed == b->seed);
    assert_int_equal(a->max_sessions, b->max_sessions);
    assert_int_equal(a->max_session_len, b->max_session_len);
    assert_int_equal(a->n_candidates, b->n_candidates);
    assert_memory_equal(a->reward, b->reward, sizeof a->reward);
    assert_memory_equal(a->parent, b->parent, sizeof a->parent);
    assert_memory_equal(a->parent_value, b->parent_value, sizeof a->parent_value);
    assert_int_equal(a->ensemble_size, b->ensemble_size);
    assert_true(a->pessimism == b->pessimism);
}

/* The offline-RL safeguards' keys: sim.ensemble and sim.pessimism (the pessimistic ensemble),
 * qnet.conservative_alpha (the CQL penalty): defaults off, YAML values, out-of-range values
 * refused at their file:line:column, and a written configuration that loads back. */
static void test_config_safeguard_keys(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_sim_options m = RECO_SIM_OPTIONS_INIT;
    reco_qnet_options q = RECO_QNET_OPTIONS_INIT;
    assert_int_equal(reco_config_get_sim(&m, cfg), RECO_OK);
    assert_int_equal(reco_config_get_qnet(&q, cfg), RECO_OK);
    assert_int_equal(m.ensemble_size, 1);
    assert_true(m.pessimism == 0.0f && q.conservative_alpha == 0.0f);
    static const char yaml[] = "sim:\n  ensemble: 4\n  pessimism: 0.75\n"
                               "qnet:\n  conservative_alpha: 0.25\n";
    assert_int_equal(reco_config_load_string(cfg, yaml, sizeof yaml - 1, "safe.yaml"), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m, cfg), RECO_OK);
    assert_int_equal(reco_config_get_qnet(&q, cfg), RECO_OK);
    assert_int_equal(m.ensemble_size, 4);
    assert_true(m.pessimism == 0.75f && q.conservative_alpha == 0.25f);
    size_t len = 0;
    char *text = write_text(cfg, &len);
    reco_config *back = new_config();
    assert_int_equal(reco_config_load_string(back, text, len, "written"), RECO_OK);
    free(text);
    reco_sim_options m2 = RECO_SIM_OPTIONS_INIT;
    reco_qnet_options q2 = RECO_QNET_OPTIONS_INIT;
    assert_int_equal(reco_config_get_sim(&m2, back), RECO_OK);
    assert_int_equal(reco_config_get_qnet(&q2, back), RECO_OK);
    assert_int_equal(m2.ensemble_size, 4);
    assert_true(m2.pessimism == 0.75f && q2.conservative_alpha == 0.25f);
    reco_config_free(back);
    static const char *const bad[][2] = {
        {"sim:\n  ensemble: 9\n", "safe.yaml:2:13"},
        {"sim:\n  ensemble: 0\n", "sim.ensemble"},
        {"sim:\n  pessimism: -0.5\n", "sim.pessimism"},
        {"qnet:\n  conservative_alpha: -1\n", "safe.yaml:2:23"},
        {"qnet:\n  conservative_alpha: .nan\n", "qnet.conservative_alpha"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_reco_error(reco_config_load_string(cfg, bad[i][0], strlen(bad[i][0]), "safe.yaml"),
                          RECO_ECONFIG, bad[i][1]);
    /* a version-4 sim struct and a version-1 qnet struct are not written past their end */
    reco_sim_options v4;
    memset(&v4, 0x5a, sizeof v4);
    v4.version = 4;
    assert_int_equal(reco_config_get_sim(&v4, cfg), RECO_OK);
    const unsigned char *tail = (const unsigned char *)&v4.ensemble;
    for (size_t i = 0; i < sizeof v4 - offsetof(reco_sim_options, ensemble); i++)
        assert_int_equal(tail[i], 0x5a);
    reco_config_free(cfg);
}

/* The model section and the version-2 experiment keys: defaults, YAML values, set -> get,
 * a bad value naming its path, and a version-1 experiment struct not written past its end. */
static void test_config_model_and_experiment_v2(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_model_options m = RECO_MODEL_OPTIONS_INIT, md = RECO_MODEL_OPTIONS_INIT;
    m.dim = 3;
    assert_int_equal(reco_config_get_model(&m, cfg), RECO_OK);
    assert_true(m.dim == md.dim && m.n_blocks == md.n_blocks && m.lr == md.lr &&
                m.clip_norm == md.clip_norm && m.max_candidates == md.max_candidates);
    reco_experiment_options e = RECO_EXPERIMENT_OPTIONS_INIT;
    assert_int_equal(reco_config_get_experiment(&e, cfg), RECO_OK);
    assert_int_equal(e.logging_policy, RECO_EXPERIMENT_LOGGING_MODEL);
    assert_true(e.logging_interactions == 200000 && e.logging_bootstrap_interactions == 100000);
    assert_true(e.logging_popularity_power == 0.5 && e.logging_temperature == 0.1);
    assert_true(e.eval_sessions == 1000 && e.eval_deep_depth == 10 && e.eval_confidence == 0.95);
    static const char yaml[] =
        "model:\n  dim: 32\n  n_blocks: 2\n  lr: 0.002\n"
        "experiment:\n  logging:\n    policy: popularity\n    interactions: 5000\n"
        "    temperature: 0.5\n  evaluation:\n    sessions: 77\n    deep_depth: 4\n";
    assert_int_equal(reco_config_load_string(cfg, yaml, strlen(yaml), "y"), RECO_OK);
    assert_int_equal(reco_config_get_model(&m, cfg), RECO_OK);
    assert_true(m.dim == 32 && m.n_blocks == 2 && fabsf(m.lr - 0.002f) < 1e-9f);
    assert_int_equal(reco_config_get_experiment(&e, cfg), RECO_OK);
    assert_int_equal(e.logging_policy, RECO_EXPERIMENT_LOGGING_POPULARITY);
    assert_true(e.logging_interactions == 5000 && e.logging_temperature == 0.5);
    assert_true(e.eval_sessions == 77 && e.eval_deep_depth == 4);
    assert_round_trip(cfg);
    /* a version-1 struct: the version-2 members (past its end) are not written */
    reco_experiment_options v1;
    memset(&v1, 0x5a, sizeof v1);
    v1.version = 1;
    assert_int_equal(reco_config_get_experiment(&v1, cfg), RECO_OK);
    const unsigned char *tail = (const unsigned char *)&v1.logging_policy;
    for (size_t i = 0; i < sizeof v1.logging_policy; i++)
        assert_int_equal(tail[i], 0x5a);
    /* set -> get; bad values name their path */
    m.n_heads = 4;
    assert_int_equal(reco_config_set_model(cfg, &m), RECO_OK);
    reco_model_options m2 = RECO_MODEL_OPTIONS_INIT;
    assert_int_equal(reco_config_get_model(&m2, cfg), RECO_OK);
    assert_int_equal(m2.n_heads, 4);
    m.dim = 0;
    assert_reco_error(reco_config_set_model(cfg, &m), RECO_ECONFIG, "model.dim");
    assert_reco_error(reco_config_set(cfg, "experiment.logging.policy", "greedy"),
                      RECO_ECONFIG, "experiment.logging.policy");
    assert_reco_error(reco_config_set(cfg, "experiment.evaluation.confidence", "1"),
                      RECO_ECONFIG, "experiment.evaluation.confidence");
    assert_int_equal(reco_config_get_model(NULL, cfg), RECO_EINVAL);
    assert_int_equal(reco_config_set_model(cfg, NULL), RECO_EINVAL);
    reco_config_free(cfg);
}

static void test_config_trainer_sim_defaults(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_trainer_options t = RECO_TRAINER_OPTIONS_INIT, td = RECO_TRAINER_OPTIONS_INIT;
    reco_sim_options m = RECO_SIM_OPTIONS_INIT, md = RECO_SIM_OPTIONS_INIT;
    t.n_generators = 9;
    t.replay_ratio = 3.0;
    t.metrics_csv = "x.csv";
    m.max_sessions = 3;
    m.seed = 77;
    assert_int_equal(reco_config_get_trainer(&t, cfg), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m, cfg), RECO_OK);
    assert_trainer_equal(&t, &td);
    assert_sim_equal(&m, &md);
    /* reco_*_options_init() agrees with the INIT macros */
    reco_trainer_options ti;
    reco_sim_options mi;
    assert_int_equal(reco_trainer_options_init(&ti, RECO_TRAINER_OPTIONS_VERSION), RECO_OK);
    assert_int_equal(reco_sim_options_init(&mi, RECO_SIM_OPTIONS_VERSION), RECO_OK);
    assert_trainer_equal(&ti, &td);
    assert_sim_equal(&mi, &md);
    /* an empty section is the defaults too */
    static const char empty[] = "trainer: {}\nsim: {}\n";
    assert_int_equal(reco_config_load_string(cfg, empty, strlen(empty), "empty"), RECO_OK);
    t.seed = 99;
    m.n_candidates = 1;
    assert_int_equal(reco_config_get_trainer(&t, cfg), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m, cfg), RECO_OK);
    assert_trainer_equal(&t, &td);
    assert_sim_equal(&m, &md);
    /* a NULL metrics_csv is stored as "" (written as such) and read back as NULL */
    assert_int_equal(reco_config_set_trainer(cfg, &td), RECO_OK);
    size_t len = 0;
    char *text = write_text(cfg, &len);
    assert_non_null(strstr(text, "trainer:\n"));
    assert_non_null(strstr(text, "sim:\n"));
    free(text);
    t.metrics_csv = "y.csv";
    assert_int_equal(reco_config_get_trainer(&t, cfg), RECO_OK);
    assert_null(t.metrics_csv);
    reco_config_free(cfg);
}

static void test_config_trainer_sim_round_trip(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    assert_int_equal(reco_config_load_string(cfg, trainer_sim_snippet,
                                             strlen(trainer_sim_snippet), "ts"),
                     RECO_OK);
    reco_trainer_options t = RECO_TRAINER_OPTIONS_INIT;
    reco_sim_options m = RECO_SIM_OPTIONS_INIT;
    assert_int_equal(reco_config_get_trainer(&t, cfg), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m, cfg), RECO_OK);
    assert_true(t.n_generators == 4 && t.sessions_per_generator == 8 && t.segment_len == 16);
    assert_true(t.replay_ratio == 0.5 && t.warmup == 2000 && t.batch_size == 64);
    assert_true(t.n_candidates == 128 && t.snapshot_period == 5 && t.max_staleness == 20);
    assert_true(t.total_updates == 0 && t.total_transitions == 500000 && t.n_users == 5000);
    assert_true(t.seed == 11 && t.metrics_interval == 50);
    assert_string_equal(t.metrics_csv, "out/train metrics.csv");
    assert_true(t.checkpoint_every == 500);
    assert_string_equal(t.checkpoint_dir, "out/ckpt");
    assert_null(t.allocator);
    assert_null(t.progress_payload);
    assert_true(m.seed == 13 && m.max_sessions == 1024 && m.max_session_len == 300);
    assert_int_equal(m.n_candidates, 250);

    /* write -> load gives the same structs */
    size_t len = 0;
    char *text = write_text(cfg, &len);
    assert_non_null(strstr(text, "replay_ratio: 0.5\n"));
    assert_non_null(strstr(text, "max_session_len: 300\n"));
    reco_config *again = new_config();
    if (reco_config_load_string(again, text, len, "written") != RECO_OK)
        fail_msg("%s\n%s", reco_error_message(), text);
    free(text);
    reco_trainer_options t2 = RECO_TRAINER_OPTIONS_INIT;
    reco_sim_options m2 = RECO_SIM_OPTIONS_INIT;
    assert_int_equal(reco_config_get_trainer(&t2, again), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m2, again), RECO_OK);
    assert_trainer_equal(&t, &t2);
    assert_sim_equal(&m, &m2);
    assert_round_trip(cfg);

    /* set -> get, and set refuses a bad value naming the option, leaving cfg unchanged */
    t.n_users = 77;
    t.metrics_csv = "m.csv";
    m.max_session_len = 42;
    assert_int_equal(reco_config_set_trainer(again, &t), RECO_OK);
    assert_int_equal(reco_config_set_sim(again, &m), RECO_OK);
    assert_int_equal(reco_config_get_trainer(&t2, again), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m2, again), RECO_OK);
    assert_true(t2.n_users == 77 && m2.max_session_len == 42);
    assert_string_equal(t2.metrics_csv, "m.csv");
    t.n_generators = 257;
    assert_reco_error(reco_config_set_trainer(again, &t), RECO_ECONFIG, "trainer.n_generators");
    t.n_generators = 2;
    t.replay_ratio = 0.0;
    assert_reco_error(reco_config_set_trainer(again, &t), RECO_ECONFIG, "trainer.replay_ratio");
    m.max_sessions = 0;
    assert_reco_error(reco_config_set_sim(again, &m), RECO_ECONFIG, "sim.max_sessions");
    assert_int_equal(reco_config_get_trainer(&t2, again), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m2, again), RECO_OK);
    assert_true(t2.n_generators == 4 && t2.replay_ratio == 0.5 && m2.max_sessions == 1024);
    assert_int_equal(reco_config_set(again, "sim.n_candidates", "99"), RECO_OK);
    assert_int_equal(reco_config_set(again, "trainer.metrics_csv", "z.csv"), RECO_OK);
    assert_reco_error(reco_config_set(again, "trainer.n_users", "0"), RECO_ECONFIG,
                      "trainer.n_users");
    assert_reco_error(reco_config_set(again, "trainer.checkpoint_every", "-3"), RECO_ECONFIG,
                      "trainer.checkpoint_every");
    assert_reco_error(reco_config_set(again, "trainer.checkpoint_every", "often"),
                      RECO_ECONFIG, "trainer.checkpoint_every");
    assert_int_equal(reco_config_set(again, "trainer.checkpoint_every", "250"), RECO_OK);
    assert_int_equal(reco_config_set(again, "trainer.checkpoint_dir", "cp"), RECO_OK);
    assert_int_equal(reco_config_get_sim(&m2, again), RECO_OK);
    assert_int_equal(m2.n_candidates, 99);
    assert_int_equal(reco_config_get_trainer(&t2, again), RECO_OK);
    assert_string_equal(t2.metrics_csv, "z.csv");
    assert_true(t2.checkpoint_every == 250);
    assert_string_equal(t2.checkpoint_dir, "cp");
    /* a version-1 struct neither reads nor writes the checkpoint fields */
    reco_trainer_options v1 = t2;
    v1.version = 1;
    v1.checkpoint_every = 77;
    v1.checkpoint_dir = "untouched";
    assert_int_equal(reco_config_get_trainer(&v1, again), RECO_OK);
    assert_true(v1.checkpoint_every == 77);
    assert_string_equal(v1.checkpoint_dir, "untouched");
    v1.metrics_csv = NULL;
    assert_int_equal(reco_config_set_trainer(again, &v1), RECO_OK);
    assert_int_equal(reco_config_get_trainer(&t2, again), RECO_OK);
    assert_null(t2.metrics_csv);
    assert_true(t2.checkpoint_every == 0); /* fields past the caller's version: defaults */
    assert_null(t2.checkpoint_dir);
    assert_int_equal(reco_config_get_trainer(NULL, again), RECO_EINVAL);
    assert_int_equal(reco_config_set_trainer(again, NULL), RECO_EINVAL);
    assert_int_equal(reco_config_get_sim(&m2, NULL), RECO_EINVAL);
    assert_int_equal(reco_config_set_sim(NULL, &m), RECO_EINVAL);
    t2.version = RECO_TRAINER_OPTIONS_VERSION + 1;
    assert_int_equal(reco_config_get_trainer(&t2, again), RECO_EVERSION);
    m.version = RECO_SIM_OPTIONS_VERSION + 1;
    assert_int_equal(reco_config_set_sim(again, &m), RECO_EVERSION);
    reco_config_free(again);
    reco_config_free(cfg);
}

/* Every member but the version and the allocator pointer (and the padding between). */
static int world_equal(const reco_world_options *a, const reco_world_options *b)
{
    const size_t off = offsetof(reco_world_options, seed);
    return memcmp((const char *)a + off, (const char *)b + off, sizeof *a - off) == 0;
}

/* The version-3 keys of the world section (carried history, long history, user and item
 * features, dwell time): defaults, YAML values, the written file loads back to the same
 * struct, reco_config_set() by path, errors naming each key, and a version-2 struct neither
 * written past its end nor read past it. */
static void test_config_world_v3(void **state)
{
    (void)state;
    reco_config *cfg = new_config();
    reco_world_options w = RECO_WORLD_OPTIONS_INIT, d = RECO_WORLD_OPTIONS_INIT;
    w.long_len = 77;
    w.seconds_click = -1;
    assert_int_equal(reco_config_get_world(&w, cfg), RECO_OK);
    assert_true(w.carry_history == 0 && w.long_len == 0 && w.user_features == 0);
    assert_true(w.user_feature_noise == 0.1 && w.item_feature_noise == 0.1);
    assert_true(w.seconds_base == 5 && w.seconds_click == 10 && w.seconds_long_watch == 40 &&
                w.seconds_like == 3);
    assert_true(world_equal(&w, &d));
    static const char yaml[] =
        "world:\n  carry_history: true\n  long_len: 50\n  user_features: true\n"
        "  user_feature_noise: 0.25\n  item_feature_noise: 0\n"
        "  seconds: {base: 2, click: 7.5, long_watch: 30, like: 1}\n";
    assert_int_equal(reco_config_load_string(cfg, yaml, strlen(yaml), "w3"), RECO_OK);
    assert_int_equal(reco_config_get_world(&w, cfg), RECO_OK);
    assert_true(w.carry_history == 1 && w.long_len == 50 && w.user_features == 1);
    assert_true(w.user_feature_noise == 0.25 && w.item_feature_noise == 0.0);
    assert_true(w.seconds_base == 2 && w.seconds_click == 7.5 && w.seconds_long_watch == 30 &&
                w.seconds_like == 1);
    /* written and loaded back: the same struct */
    size_t len = 0;
    char *text = write_text(cfg, &len);
    assert_non_null(strstr(text, "\n  carry_history: true\n"));
    assert_non_null(strstr(text, "\n  long_len: 50\n"));
    assert_non_null(strstr(text, "\n  seconds:\n    base: 2\n    click: 7.5\n"));
    reco_config *again = new_config();
    if (reco_config_load_string(again, text, len, "written") != RECO_OK)
        fail_msg("%s\n%s", reco_error_message(), text);
    free(text);
    reco_world_options w2 = RECO_WORLD_OPTIONS_INIT;
    assert_int_equal(reco_config_get_world(&w2, again), RECO_OK);
    assert_true(world_equal(&w, &w2));
    assert_round_trip(cfg);
    /* set by path and by struct */
    assert_int_equal(reco_config_set(again, "world.seconds.like", "4.5"), RECO_OK);
    assert_int_equal(reco_config_set(again, "world.carry_history", "false"), RECO_OK);
    assert_int_equal(reco_config_get_world(&w2, again), RECO_OK);
    assert_true(w2.seconds_like == 4.5 && w2.carry_history == 0);
    w2.long_len = 4096;
    w2.user_features = 0;
    assert_int_equal(reco_config_set_world(again, &w2), RECO_OK);
    reco_world_options w3 = RECO_WORLD_OPTIONS_INIT;
    assert_int_equal(reco_config_get_world(&w3, again), RECO_OK);
    assert_true(world_equal(&w2, &w3));
    /* out of range: the error names the key, in YAML, by path and by struct */
    static const struct {
        const char *yaml, *field, *msg;
    } bad[] = {
        { "world:\n  long_len: 4097\n", "world.long_len", "4097 is out of range [0, 4096]" },
        { "world:\n  user_feature_noise: 10.5\n", "world.user_feature_noise", "out of range" },
        { "world:\n  item_feature_noise: -0.1\n", "world.item_feature_noise", "out of range" },
        { "world:\n  seconds: {base: -1}\n", "world.seconds.base", "out of range" },
        { "world:\n  seconds: {click: 2e6}\n", "world.seconds.click", "out of range" },
        { "world:\n  seconds: {long_watch: .inf}\n", "world.seconds.long_watch", "" },
        { "world:\n  seconds: {like: .nan}\n", "world.seconds.like", "NaN" },
        { "world:\n  seconds: {lik: 1}\n", "world.seconds.lik", "did you mean \"like\"?" },
        { "world:\n  carry_history: 1\n", "world.carry_history", "" },
        { "world:\n  user_features: yes\n", "world.user_features", "" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = reco_config_load_string(again, bad[i].yaml, strlen(bad[i].yaml), "bad.yaml");
        reco_error_info e = RECO_ERROR_INFO_INIT;
        assert_int_equal(reco_error_get(&e), RECO_OK);
        if (rc != RECO_ECONFIG || strcmp(e.field, bad[i].field) != 0 ||
            strstr(e.message, bad[i].field) == NULL || strstr(e.message, bad[i].msg) == NULL)
            fail_msg("case %zu: got %s field \"%s\": %s", i, reco_status_name(rc), e.field,
                     e.message);
    }
    assert_reco_error(reco_config_set(again, "world.long_len", "5000"), RECO_ECONFIG,
                      "world.long_len");
    assert_reco_error(reco_config_set(again, "world.seconds.base", "-3"), RECO_ECONFIG,
                      "world.seconds.base");
    w3.item_feature_noise = 11;
    assert_reco_error(reco_config_set_world(again, &w3), RECO_ECONFIG,
                      "world.item_feature_noise");
    w3.item_feature_noise = 0.1;
    w3.seconds_long_watch = NAN;
    assert_reco_error(reco_config_set_world(again, &w3), RECO_ECONFIG,
                      "world.seconds.long_watch");
    reco_world_options now = RECO_WORLD_OPTIONS_INIT;
    assert_int_equal(reco_config_get_world(&now, again), RECO_OK);
    assert_true(world_equal(&now, &w2)); /* failures changed nothing */
    /* a version-2 struct: get does not write past its end; set does not read past it (the
     * version-3 fields take their defaults) */
    reco_world_options v2;
    memset(&v2, 0x5a, sizeof v2);
    v2.version = 2;
    assert_int_equal(reco_config_get_world(&v2, cfg), RECO_OK);
    const unsigned char *tail = (const unsigned char *)&v2.carry_history;
    const size_t past = sizeof v2 - offsetof(reco_world_options, carry_history);
    for (size_t i = 0; i < past; i++)
        assert_int_equal(tail[i], 0x5a);
    v2.allocator = NULL;
    assert_int_equal(reco_config_set_world(cfg, &v2), RECO_OK);
    assert_int_equal(reco_config_get_world(&w3, cfg), RECO_OK);
    assert_true(w3.carry_history == 0 && w3.long_len == 0 && w3.seconds_like == 3.0 &&
                w3.user_feature_noise == 0.1);
    reco_config_free(again);
    reco_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_options_init_versions),
        cmocka_unit_test(test_config_get_version),
        cmocka_unit_test(test_config_load_full),
        cmocka_unit_test(test_config_load_partial),
        cmocka_unit_test(test_config_load_empty_is_defaults),
        cmocka_unit_test(test_config_load_aliases_and_core_tags),
        cmocka_unit_test(test_config_load_string_not_terminated),
        cmocka_unit_test(test_config_load_file_errors),
        cmocka_unit_test(test_config_reset),
        cmocka_unit_test(test_config_bad_corpus),
        cmocka_unit_test(test_config_bad_corpus_complete),
        cmocka_unit_test(test_config_load_is_atomic),
        cmocka_unit_test(test_config_set_each_type),
        cmocka_unit_test(test_config_set_errors),
        cmocka_unit_test(test_config_set_experiment_valid),
        cmocka_unit_test(test_config_set_experiment_invalid),
        cmocka_unit_test(test_config_write_format),
        cmocka_unit_test(test_config_round_trip_string),
        cmocka_unit_test(test_config_write_string_small_buffer),
        cmocka_unit_test(test_config_round_trip_file),
        cmocka_unit_test(test_config_write_file_errors),
        cmocka_unit_test(test_config_counting_allocator),
        cmocka_unit_test(test_config_failing_allocator),
        cmocka_unit_test(test_config_hostile_inputs),
        cmocka_unit_test(test_config_null_arguments),
        cmocka_unit_test(test_config_rl_sections_defaults),
        cmocka_unit_test(test_config_rl_sections_round_trip),
        cmocka_unit_test(test_config_model_and_experiment_v2),
        cmocka_unit_test(test_config_trainer_sim_defaults),
        cmocka_unit_test(test_config_trainer_sim_round_trip),
        cmocka_unit_test(test_config_safeguard_keys),
        cmocka_unit_test(test_config_world_v3),
        cmocka_unit_test(test_config_origin_file),
        cmocka_unit_test(test_config_origin_set),
        cmocka_unit_test(test_config_origin_struct),
        cmocka_unit_test(test_config_origin_errors),
        cmocka_unit_test(test_config_origin_memory_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
