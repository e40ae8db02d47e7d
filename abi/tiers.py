#!/usr/bin/env python3
"""Which API tier every public header and every RECO_API function of libreco belongs to.

The tiers (docs/abi.md):
  core  stable for the life of libreco.so.0; abi/check.sh fails on any change.
  lab   may change in any 0.x release; declared only when the user defines RECO_LAB_API;
        abi/check.sh reports a change and lets it pass.

What a header says decides. Its file comment (the first /** ... */ block) holds
`@ingroup reco_core` or `@ingroup reco_lab` (the Doxygen group of its tier) and an
`@par API tier` paragraph starting with **Core** or **Lab**. A lab header refuses to be included
without RECO_LAB_API:

    #ifndef RECO_LAB_API
    #error "..."
    #endif

A core header may hold a lab section, the way zstd keeps its static-linking-only part in
zstd.h: declarations inside `#if defined(RECO_LAB_API) && !defined(RECO_<NAME>_H_LAB)` /
`#define RECO_<NAME>_H_LAB` ... `#endif` are lab. The section comes after the include guard's
`#endif`, under its own guard, so that a file that included the header without the macro
can include it again with it.

    tiers.py HEADER_DIR                     summary; exit 1 with the problems if inconsistent
    tiers.py HEADER_DIR --symbols core|lab  the RECO_API functions of a tier, one per line
    tiers.py HEADER_DIR --headers core|lab  the headers of a tier, one per line
    tiers.py HEADER_DIR --list              "tier function" for every RECO_API function
    tiers.py HEADER_DIR --suppressions [BASELINE]
                                            an abidiff suppression file covering the lab tier:
                                            the lab functions of the headers, and those that
                                            BASELINE (a --list output) had as lab and the
                                            headers no longer declare; exit 1 if a function
                                            core in BASELINE is lab now (never allowed)

Used by tests/check_symbols.py, tests/check_tiers.py and abi/check.sh.
"""
import glob
import os
import re
import sys

TIERS = ("core", "lab")
GROUP = {"core": "reco_core", "lab": "reco_lab"}
LABEL = {"core": "**Core**", "lab": "**Lab**"}
UMBRELLA = "reco.h"

_LAB_IF = re.compile(r"#\s*if(?:def\s+RECO_LAB_API\b|\s+defined\s*\(?\s*RECO_LAB_API\b)")
_SECTION = re.compile(r"#\s*if\s+defined\s*\(\s*RECO_LAB_API\s*\)\s*&&\s*"
                      r"!\s*defined\s*\(\s*(RECO_\w+_H_LAB)\s*\)\s*$")
_LAB_GUARD = re.compile(r"#\s*ifndef\s+RECO_LAB_API\s*\n\s*#\s*error\s+\"[^\"\n]+\"\s*\n"
                        r"\s*#\s*endif")
_DECL = re.compile(r"\bRECO_API\b[^;{]*?\b(reco_\w+)\s*\(", re.S)
_TYPEDEF = re.compile(r"\btypedef\b[^;]*?\b(reco_\w+)\s*;", re.S)
_INCLUDE = re.compile(r"#\s*include\s*[\"<]reco/([\w.]+)[\">]")


def _strip_comments(text):
    """Comments replaced by as many newlines, so that offsets keep their line numbers."""
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def _lab_sections(code):
    """Line numbers (1-based) inside `#if ... RECO_LAB_API` sections (nesting aware), and
    for each section its first line, its nesting depth and the text of its first two lines."""
    inside = set()
    sections = []
    stack = []  # one entry per open #if: True where it opened a lab section
    lines = code.split("\n")
    for no, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith("#"):
            d = re.sub(r"^#\s*", "", s)
            if d.startswith("if"):
                lab = bool(_LAB_IF.match(s))
                if lab:
                    nxt = next((x.strip() for x in lines[no:] if x.strip()), "")
                    sections.append((no, len(stack), s, nxt))
                stack.append(lab)
            elif (d.startswith("else") or d.startswith("elif")) and stack:
                stack[-1] = False
            elif d.startswith("endif") and stack:
                stack.pop()
        if any(stack):
            inside.add(no)
    return inside, sections


class Header:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        if self.name.endswith(".h.in"):
            self.name = self.name[:-3]
        self.text = open(path).read()
        self.problems = []
        m = re.match(r"\s*/\*\*(.*?)\*/", self.text, re.S)
        self.file_comment = m.group(1) if m else ""
        self.tier = self._stated_tier()
        code = _strip_comments(self.text)
        self.code = code
        self.guarded = bool(_LAB_GUARD.search(code))
        lab_lines, sections = _lab_sections(code)
        if self.tier == "core" and self.name != UMBRELLA:
            for no, depth, first, second in sections:
                m = _SECTION.match(first)
                if depth or not m or not re.match(r"#\s*define\s+%s\b" % m.group(1), second):
                    self.problems.append(
                        "%s:%d: a lab section of a core header must come after the include "
                        "guard's #endif and have its own guard: #if defined(RECO_LAB_API) && "
                        "!defined(RECO_<NAME>_H_LAB) / #define RECO_<NAME>_H_LAB"
                        % (self.name, no))

        def tier_at(offset):
            if self.tier == "lab":
                return "lab"
            return "lab" if code.count("\n", 0, offset) + 1 in lab_lines else "core"

        self.functions = {}  # name -> tier
        for m in _DECL.finditer(code):
            name = m.group(1)
            if name in self.functions:
                self.problems.append("%s: %s is declared twice" % (self.name, name))
            self.functions[name] = tier_at(m.start(1))
        self.types = {}  # typedef name -> tier
        for m in _TYPEDEF.finditer(code):
            self.types[m.group(1)] = tier_at(m.start(1))
        self.includes = []  # (header, tier of the place it is included from)
        for m in _INCLUDE.finditer(code):
            self.includes.append((m.group(1), tier_at(m.start())))
        self.core_code = "\n".join(
            line for no, line in enumerate(code.split("\n"), 1)
            if self.tier == "core" and no not in lab_lines)

    def _stated_tier(self):
        if not self.file_comment:
            self.problems.append("%s: no file comment (/** @file ... */) at the top" % self.name)
            return None
        groups = [t for t in TIERS
                  if re.search(r"@ingroup\s+%s\b" % GROUP[t], self.file_comment)]
        par = re.search(r"@par API tier\s*\n\s*\*\s*(\S+)", self.file_comment)
        labels = [t for t in TIERS if par and par.group(1).startswith(LABEL[t])]
        if len(groups) != 1:
            self.problems.append("%s: the file comment must hold exactly one of '@ingroup "
                                 "reco_core', '@ingroup reco_lab' (found %d)"
                                 % (self.name, len(groups)))
            return None
        if len(labels) != 1:
            self.problems.append("%s: the file comment must have an '@par API tier' paragraph "
                                 "starting with %s" % (self.name, LABEL[groups[0]]))
            return None
        if labels[0] != groups[0]:
            self.problems.append("%s: '@ingroup %s' but the API tier paragraph says %s"
                                 % (self.name, GROUP[groups[0]], LABEL[labels[0]]))
            return None
        return groups[0]


class Tiers:
    def __init__(self, header_dir):
        paths = sorted(glob.glob(os.path.join(header_dir, "*.h")) +
                       glob.glob(os.path.join(header_dir, "*.h.in")))
        self.headers = {}
        for p in paths:
            h = Header(p)
            if h.name in self.headers:  # version.h generated next to version.h.in: same file
                continue
            self.headers[h.name] = h
        self.problems = [p for h in self.headers.values() for p in h.problems]
        self.functions = {}  # name -> (tier, header)
        for h in self.headers.values():
            for name, tier in h.functions.items():
                if name in self.functions:
                    self.problems.append("%s is declared in both %s and %s"
                                         % (name, self.functions[name][1], h.name))
                self.functions[name] = (tier, h.name)
        self.types = {}
        for h in self.headers.values():
            for name, tier in h.types.items():
                self.types[name] = (tier, h.name)
        self._check()

    def header_names(self, tier):
        return sorted(n for n, h in self.headers.items() if h.tier == tier)

    def symbols(self, tier):
        return sorted(n for n, (t, _) in self.functions.items() if t == tier)

    def _check(self):
        hs = self.headers
        for h in hs.values():
            if h.tier == "lab" and not h.guarded:
                self.problems.append(
                    "%s: a lab header must refuse to be included without RECO_LAB_API "
                    "(#ifndef RECO_LAB_API / #error \"...\" / #endif)" % h.name)
            if h.tier == "core" and h.guarded:
                self.problems.append("%s: a core header must not require RECO_LAB_API"
                                     % h.name)
            if h.tier != "core" or h.name == UMBRELLA:
                continue
            for inc, where in h.includes:
                if where == "core" and inc in hs and hs[inc].tier == "lab":
                    self.problems.append("%s: the core header includes the lab header %s"
                                         % (h.name, inc))
            for name, (tier, where) in self.types.items():
                if tier == "lab" and re.search(r"\b%s\b" % name, h.core_code):
                    self.problems.append("%s: a core declaration uses the lab type %s (%s)"
                                         % (h.name, name, where))
        um = hs.get(UMBRELLA)
        if um is None:
            self.problems.append("no umbrella header %s" % UMBRELLA)
            return
        included = {}
        for inc, where in um.includes:
            included.setdefault(inc, set()).add(where)
        for h in hs.values():
            if h.name == UMBRELLA or h.tier is None:
                continue
            got = included.get(h.name, set())
            if got != {h.tier}:
                self.problems.append(
                    "%s must include %s %s (found: %s)"
                    % (UMBRELLA, h.name,
                       "unconditionally" if h.tier == "core" else "in its RECO_LAB_API block",
                       ", ".join(sorted(got)) or "not included"))

    def listing(self):
        return "\n".join("%s %s" % (self.functions[n][0], n) for n in sorted(self.functions))

    def suppressions(self, baseline=None):
        """(suppression file text, problems). `baseline`: text of an earlier listing()."""
        lab = set(self.symbols("lab"))
        problems = []
        for line in (baseline or "").splitlines():
            parts = line.split()
            if len(parts) != 2 or parts[0] not in TIERS:
                continue
            tier, name = parts
            now = self.functions.get(name, (None,))[0]
            if tier == "lab" and now is None:
                lab.add(name)  # a lab function removed since the baseline
            elif tier == "core" and now == "lab":
                problems.append("%s was core in the baseline and is lab now: a core function "
                                "never moves to the lab tier within a soname" % name)
        lines = ["# Generated by abi/tiers.py: the lab tier, whose changes abi/check.sh",
                 "# reports without failing (docs/abi.md).", ""]
        if lab:
            lines += ["[suppress_function]", "  label = lab tier",
                      "  symbol_name_regexp = ^(%s)$" % "|".join(sorted(lab)), ""]
        return "\n".join(lines), problems


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    t = Tiers(argv[1])
    if t.problems:
        for p in t.problems:
            print("FAIL: " + p)
        return 1
    rest = argv[2:]
    if rest[:1] == ["--symbols"] and len(rest) == 2 and rest[1] in TIERS:
        print("\n".join(t.symbols(rest[1])))
    elif rest[:1] == ["--headers"] and len(rest) == 2 and rest[1] in TIERS:
        print("\n".join(t.header_names(rest[1])))
    elif rest == ["--list"]:
        print(t.listing())
    elif rest[:1] == ["--suppressions"] and len(rest) <= 2:
        baseline = open(rest[1]).read() if len(rest) == 2 else None
        text, problems = t.suppressions(baseline)
        if problems:
            for p in problems:
                print("FAIL: " + p, file=sys.stderr)
            return 1
        print(text)
    elif not rest:
        for tier in TIERS:
            print("%s: %d functions in %s" % (tier, len(t.symbols(tier)),
                                             " ".join(t.header_names(tier))))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
