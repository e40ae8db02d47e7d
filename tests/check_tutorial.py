#!/usr/bin/env python3
"""Runs the commands of docs/tutorial.md in order, so that the tutorial cannot rot.

usage: check_tutorial.py SOURCE_ROOT BUILD_DIR [TUTORIAL.md]

Markers (HTML comments, invisible in the rendered page) on the line before a fenced block:

  <!-- tutorial:run -->         a ```sh block: run with bash -euo pipefail; must exit 0
  <!-- tutorial:run fails -->   the same, but must exit non-zero
  <!-- tutorial:run python -->  a ```sh block that needs NumPy under /usr/bin/python3;
                                skipped (and said so) when it is missing
  <!-- tutorial:file PATH -->   write the block's text to PATH
  <!-- tutorial:keys -->        a table whose first column holds configuration keys
                                (`section.key`): each must be printed by
                                `recomind --print-config`

Blocks run in a scratch directory that looks like the source root (a symbolic link to each
top-level entry, and `build` pointing to BUILD_DIR), each in a fresh shell started there.
Every `/tmp/` in a command or a path is redirected to a scratch directory, so runs do not
collide with each other or with a reader's own /tmp/tutorial.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MARK = re.compile(r"^<!--\s*tutorial:(\w+)\s*(.*?)\s*-->\s*$")


def blocks(text):
    """(kind, argument, body, line) for every marked block, in order."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = MARK.match(lines[i])
        if not m:
            i += 1
            continue
        kind, arg, start = m.group(1), m.group(2), i + 1
        j = i + 1
        if kind == "keys":
            rows = []
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(lines[j])
                j += 1
            out.append((kind, arg, "\n".join(rows), start))
            i = j
            continue
        if j >= len(lines) or not lines[j].startswith("```"):
            sys.exit("tutorial line %d: marker not followed by a fenced block" % start)
        k = j + 1
        while k < len(lines) and not lines[k].startswith("```"):
            k += 1
        if k >= len(lines):
            sys.exit("tutorial line %d: unterminated block" % start)
        out.append((kind, arg, "\n".join(lines[j + 1:k]) + "\n", start))
        i = k + 1
    return out


def flat_keys(yaml_text):
    """Dotted paths of a block-style YAML mapping (indentation of two spaces per level)."""
    keys, stack = set(), []
    for line in yaml_text.split("\n"):
        m = re.match(r"^( *)([A-Za-z0-9_]+):", line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2)]
        keys.add(".".join(stack))
    return keys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src = os.path.abspath(sys.argv[1])
    build = os.path.abspath(sys.argv[2])
    doc = sys.argv[3] if len(sys.argv) > 3 else os.path.join(src, "docs", "tutorial.md")
    with open(doc, encoding="utf-8") as f:
        todo = blocks(f.read())
    if not any(k == "run" for k, _, _, _ in todo):
        sys.exit("no tutorial:run block in %s" % doc)

    scratch = tempfile.mkdtemp(prefix="reco-tutorial-")
    root = os.path.join(scratch, "src")
    tmp = os.path.join(scratch, "tmp") + "/"
    os.makedirs(root)
    os.makedirs(tmp)
    for name in os.listdir(src):
        if name == "build" or name.startswith("build-") or name == ".git":
            continue
        os.symlink(os.path.join(src, name), os.path.join(root, name))
    os.symlink(build, os.path.join(root, "build"))
    env = dict(os.environ)
    env.pop("OLDPWD", None)
    env["PWD"] = root
    have_numpy = subprocess.run(["/usr/bin/python3", "-c", "import numpy"],
                                capture_output=True).returncode == 0 \
        if os.path.exists("/usr/bin/python3") else False

    failed = 0
    t_all = time.time()
    for kind, arg, body, line in todo:
        body = body.replace("/tmp/", tmp)
        if kind == "file":
            path = arg.replace("/tmp/", tmp)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(body)
            print("--- line %d: wrote %s" % (line, arg))
            continue
        if kind == "keys":
            r = subprocess.run([os.path.join(build, "examples", "recomind"), "--print-config"],
                               capture_output=True, text=True)
            have = flat_keys(r.stdout)
            listed = re.findall(r"^\|\s*`([a-z0-9_.]+)`", body, re.M)
            missing = [k for k in listed if k not in have]
            print("--- line %d: %d configuration keys, %s" %
                  (line, len(listed), "missing: " + ", ".join(missing) if missing else "all exist"))
            if r.returncode != 0 or not listed or missing:
                failed += 1
            continue
        if kind != "run":
            print("--- line %d: unknown marker tutorial:%s" % (line, kind))
            failed += 1
            continue
        if arg == "python" and not have_numpy:
            print("--- line %d: skipped (NumPy missing under /usr/bin/python3)" % line)
            continue
        print("--- line %d%s:\n%s" % (line, " (must fail)" if arg == "fails" else "",
                                     body.rstrip()))
        sys.stdout.flush()
        t0 = time.time()
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=root, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = r.stdout.rstrip()
        if out:
            print("\n".join("    " + l for l in out.split("\n")[-40:]))
        ok = (r.returncode != 0) if arg == "fails" else (r.returncode == 0)
        print("    -> exit %d in %.1f s: %s" % (r.returncode, time.time() - t0,
                                                 "ok" if ok else "FAILED"))
        if not ok:
            failed += 1
    print("tutorial: %d blocks, %d failed, %.1f s" % (len(todo), failed, time.time() - t_all))
    if failed == 0:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print("scratch directory kept: %s" % scratch)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
