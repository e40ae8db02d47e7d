/* Corpora of bad CSV files (tests/log/bad, tests/log/bad_extras, tests/items/bad): each
 * directory holds one file per mistake and an expected.txt manifest listing, for each file,
 * the status, line, column, field and a message substring its strict load must report.
 * Shared by test_log.c and test_items.c. */
#ifndef RECO_TEST_CORPUS_H
#define RECO_TEST_CORPUS_H

#include <dirent.h>

#include "test_common.h"

typedef struct manifest_entry {
    char file[128];
    char status[32];
    unsigned line, column;
    char field[72];
    char message[256];
} manifest_entry;

/* Reads `dir`/expected.txt: lines "file|STATUS|line|column|field|message substring", '#'
 * comments and empty lines skipped. */
static inline size_t corpus_read_manifest(manifest_entry *out, size_t cap, const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/expected.txt", dir);
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

/* Every file of `dir` but expected.txt is listed, and listed once. */
static inline void corpus_check_complete(const char *dir, const manifest_entry *entries,
                                         size_t n)
{
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
            fail_msg("%s/%s is not listed in expected.txt", dir, ent->d_name);
    }
    closedir(d);
    assert_int_equal(files, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(entries[i].file, entries[j].file) == 0)
                fail_msg("%s/expected.txt lists %s twice", dir, entries[i].file);
}

/* 1 when the call that returned `rc` on file `path` failed as `e` says (the thread's error
 * details included); else prints the difference and returns 0. */
static inline int corpus_matches(const manifest_entry *e, int rc, const char *path)
{
    reco_error_info info = RECO_ERROR_INFO_INIT;
    assert_int_equal(reco_error_get(&info), RECO_OK);
    int ok = strcmp(reco_status_name(rc), e->status) == 0 && info.code == rc &&
             info.line == e->line && info.column == e->column &&
             strcmp(info.field, e->field) == 0 && strstr(info.message, e->message) != NULL &&
             strstr(info.message, e->file) != NULL && strcmp(info.source, path) == 0;
    if (!ok)
        print_error("%s: expected %s %u:%u field \"%s\" message containing \"%s\"\n"
                    "   got %s %u:%u field \"%s\" message \"%s\"\n", e->file, e->status,
                    e->line, e->column, e->field, e->message, reco_status_name(rc), info.line,
                    info.column, info.field, info.message);
    return ok;
}

#endif /* RECO_TEST_CORPUS_H */
