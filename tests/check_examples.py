#!/usr/bin/env python3
"""Structure test: every example program has a man-page-like --help and refuses unknown flags.

usage: check_examples.py EXAMPLES_SOURCE_DIR EXECUTABLE...

For each executable: `--help` exits 0 and prints NAME, SYNOPSIS and DESCRIPTION sections on
stdout; `--no-such-flag` exits 2 with a message on stderr and nothing on stdout. The number of
executables must equal the number of example sources (*.c, *.cpp) in EXAMPLES_SOURCE_DIR, so
a new example cannot be left out of this check."""
import glob
import os
import subprocess
import sys


def main():
    src_dir, exes = sys.argv[1], sys.argv[2:]
    sources = sorted(glob.glob(os.path.join(src_dir, "*.c")) +
                     glob.glob(os.path.join(src_dir, "*.cpp")))
    failures = []
    if len(sources) != len(exes):
        failures.append("%d example sources but %d executables checked: register every "
                        "example in examples/meson.build" % (len(sources), len(exes)))
    for exe in exes:
        name = os.path.basename(exe)
        r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            failures.append("%s --help: exit %d, expected 0" % (name, r.returncode))
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION"):
            if not any(line.strip() == section for line in r.stdout.splitlines()):
                failures.append("%s --help: no %s section" % (name, section))
        r = subprocess.run([exe, "--no-such-flag"], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 2:
            failures.append("%s --no-such-flag: exit %d, expected 2" % (name, r.returncode))
        if "--no-such-flag" not in r.stderr:
            failures.append("%s --no-such-flag: stderr does not name the flag: %r"
                            % (name, r.stderr))
        if r.stdout:
            failures.append("%s --no-such-flag: unexpected output on stdout" % name)
        print("%-16s --help ok, --no-such-flag exit %d" % (name, r.returncode))
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
