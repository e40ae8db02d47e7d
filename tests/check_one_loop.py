#!/usr/bin/env python3
"""One session loop (issue 13): lib/runner.c is the only library file that plays sessions in
a reco_env, so every caller (reco_run_sessions, the evaluator, the log generator, the
trainer's generators) shares its checks, its policy call and its order of callbacks. This
test fails when another file in lib/ calls an env's step(), or its candidates() or reset()
(the simulator's reset of its start env, which only seeds a state, and the ensemble env of
lib/env_mix.c, an env whose callbacks forward each row to one of its simulators' own, are the
exceptions: neither plays a session).

usage: check_one_loop.py LIB_DIR
"""
import glob
import os
import re
import sys

CALL = re.compile(r"(?:->|\.)(step|candidates|reset)\s*\(")
ALLOWED = {("runner.c", "step"), ("runner.c", "candidates"), ("runner.c", "reset"),
           ("sim.c", "reset"),
           ("env_mix.c", "step"), ("env_mix.c", "candidates"), ("env_mix.c", "reset")}


def strip_comments_and_strings(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return text


def main():
    problems = []
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.[ch]"))):
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            text = strip_comments_and_strings(f.read())
        for lineno, line in enumerate(text.splitlines(), 1):
            for m in CALL.finditer(line):
                if (name, m.group(1)) not in ALLOWED:
                    problems.append("%s:%d: calls an env's %s(); play sessions through "
                                    "lib/runner.c" % (name, lineno, m.group(1)))
    for p in problems:
        print("FAIL: " + p)
    if problems:
        return 1
    print("ok: only lib/runner.c plays sessions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
