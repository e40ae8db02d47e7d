#!/usr/bin/env python3
"""Every allocation in lib/ goes through reco__alloc/reco__free (STYLE.md section 6), so a
caller's reco_allocator sees every byte. This test fails on any bare C allocator call in
lib/, outside the one place that implements the default hooks (lib/alloc.c, system_alloc
and system_free).

usage: check_no_malloc.py LIB_DIR
"""
import glob
import os
import re
import sys

CALL = re.compile(r"(?<![\w.>])(malloc|calloc|realloc|free|strdup|strndup|aligned_alloc|"
                  r"posix_memalign|reallocarray)\s*\(")
ALLOWED = {("alloc.c", "posix_memalign"), ("alloc.c", "free")}


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text


def main():
    lib_dir = sys.argv[1]
    problems = []
    files = sorted(glob.glob(os.path.join(lib_dir, "*.c")) + glob.glob(os.path.join(lib_dir, "*.h")))
    for path in files:
        name = os.path.basename(path)
        text = strip_comments_and_strings(open(path).read())
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in CALL.finditer(line):
                if (name, m.group(1)) in ALLOWED:
                    continue
                problems.append("%s:%d: bare %s()" % (path, lineno, m.group(1)))
    if problems:
        print("FAIL: allocation outside reco__alloc/reco__free:")
        print("\n".join(problems))
        sys.exit(1)
    print("ok: %d files in lib/ allocate only through reco__alloc/reco__free" % len(files))


if __name__ == "__main__":
    main()
