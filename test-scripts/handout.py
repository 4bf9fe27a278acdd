#!/usr/bin/env python3
"""handout.py - generate the student skeleton from the reference tree.

    handout.py [--src DIR] --out DIR

Copies the files git knows about (tracked, plus untracked files that are
not ignored: `git ls-files --cached --others --exclude-standard`) from the
reference tree into DIR, removing the solution as marked in the sources
(the convention is documented in labs/classroom/README.md):

  C files (.c .h):
    /* SOLUTION BEGIN */ ... /* SOLUTION END */   region removed; if it
        holds a block  /* SOLUTION STUB  <lines>  */  those lines (the
        stub) take its place
    /* SOLUTION FILE */   the whole file is solution: left out (or replaced
        by labs/classroom/stubs/<same path>, see below)
  Makefile fragments (Makefile, *.mk):
    # SOLUTION BEGIN ... # SOLUTION END           region removed
    # SOLUTION FILE                               file left out
  Markers stand alone on their line (indentation allowed).

Every file under labs/classroom/stubs/ is then copied to the same path
relative to that directory (a stub for a SOLUTION FILE, or a new file).
Paths in EXCLUDE never reach the handout.

The output is verified before the command succeeds: no marker text is left
in any C or make file, and no static function removed with the solution is
named in the handout's file of the same path, unless a stub defines it
again (a leak check).
Exit status 0 on success, 1 with file:line messages otherwise.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

STUBS = "labs/classroom/stubs"
# Instructor-only material and reference-only test machinery.
EXCLUDE = (
    ".ci/",                      # the reference's CI
    "labs/sim/",                 # simulator of the reference Raft core
    "test-scripts/handout.py",   # this generator
    # Unit tests of the reference's internals (their module.mk lines are
    # marked as solution).
    "raft/tests/",
    "kvraft/tests/",
    "shardctrler/tests/",
)
C_EXT = (".c", ".h")
MARKER_WORD = re.compile(r"SOLUTION (BEGIN|END|STUB|FILE)")
STATIC_FN = re.compile(r"^static\s[^;=(]*?\b(\w+)\s*\(", re.M)


class MarkerError(Exception):
    pass


def style_of(path):
    """'c', 'make' or None (file not processed) for a relative path."""
    if path.endswith(C_EXT):
        return "c"
    if path.endswith(".mk") or os.path.basename(path) == "Makefile":
        return "make"
    return None


def strip_solution(path, text, style):
    """Return (kept text or None for a SOLUTION FILE, removed text, stub text)."""
    if style == "c":
        begin, end, whole = "/* SOLUTION BEGIN */", "/* SOLUTION END */", "/* SOLUTION FILE */"
        stub_open, stub_close = "/* SOLUTION STUB", "*/"
    else:
        begin, end, whole = "# SOLUTION BEGIN", "# SOLUTION END", "# SOLUTION FILE"
        stub_open = stub_close = None
    out, removed, stub, stubs = [], [], None, []
    in_region = in_stub = False
    start = 0
    for no, line in enumerate(text.splitlines(keepends=True), 1):
        s = line.strip()
        where = f"{path}:{no}"
        if in_stub:
            if s == stub_close:
                in_stub = False
            else:
                stub.append(line)
            continue
        if s == whole:
            if in_region:
                raise MarkerError(f"{where}: SOLUTION FILE inside a region")
            return None, text, ""
        if s == begin:
            if in_region:
                raise MarkerError(f"{where}: nested SOLUTION BEGIN (open since line {start})")
            in_region, start, stub = True, no, []
            continue
        if s == end:
            if not in_region:
                raise MarkerError(f"{where}: SOLUTION END without BEGIN")
            in_region = False
            out.extend(stub)
            stubs.extend(stub)
            continue
        if stub_open and s == stub_open:
            if not in_region:
                raise MarkerError(f"{where}: SOLUTION STUB outside a region")
            in_stub = True
            continue
        if MARKER_WORD.search(line):
            raise MarkerError(f"{where}: malformed marker (it must stand alone on its line): {s}")
        (removed if in_region else out).append(line)
    if in_stub:
        raise MarkerError(f"{path}: SOLUTION STUB not closed by a line '*/'")
    if in_region:
        raise MarkerError(f"{path}:{start}: SOLUTION BEGIN not closed")
    return "".join(out), "".join(removed), "".join(stubs)


def source_files(src):
    try:
        out = subprocess.run(
            ["git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"handout: cannot list the files of {src} (is it a git work tree?): {e}")
    names = sorted(set(n for n in out.split("\0") if n))
    return [n for n in names
            if os.path.isfile(os.path.join(src, n))
            and not n.startswith(EXCLUDE) and not n.startswith(STUBS + "/")]


def write(out, rel, data, mode):
    dst = os.path.join(out, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "wb") as f:
        f.write(data)
    os.chmod(dst, mode & 0o777)


def generate(src, out):
    """Write the handout; returns {path: removed static function names}."""
    removed_fns = {}
    nfiles = nstripped = 0
    for rel in source_files(src):
        path = os.path.join(src, rel)
        mode = os.stat(path).st_mode
        with open(path, "rb") as f:
            data = f.read()
        style = style_of(rel)
        if style:
            text = data.decode("utf-8")
            kept, removed, stub = strip_solution(rel, text, style)
            if removed:
                nstripped += 1
                removed_fns[rel] = set(STATIC_FN.findall(removed)) - set(STATIC_FN.findall(stub))
            if kept is None:
                continue
            data = kept.encode("utf-8")
        write(out, rel, data, mode)
        nfiles += 1
    stubs = os.path.join(src, STUBS)
    nstubs = 0
    for root, _, files in os.walk(stubs):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, stubs)
            with open(path, "rb") as f:
                write(out, rel, f.read(), os.stat(path).st_mode)
            nstubs += 1
    print(f"handout: {nfiles} files ({nstripped} with solution removed) "
          f"+ {nstubs} stubs -> {out}")
    return removed_fns


def verify(out, removed_fns):
    """Error messages for solution text left in the handout."""
    errors = []
    for root, _, files in os.walk(out):
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), out)
            if not style_of(rel):
                continue
            names = removed_fns.get(rel)
            pat = re.compile(r"\b(" + "|".join(sorted(names)) + r")\s*\(") if names else None
            with open(os.path.join(out, rel), encoding="utf-8") as f:
                for no, line in enumerate(f, 1):
                    if MARKER_WORD.search(line):
                        errors.append(f"{rel}:{no}: marker left in the handout")
                    m = pat.search(line) if pat else None
                    if m:
                        errors.append(f"{rel}:{no}: names {m.group(1)}(), a function "
                                      "removed with the solution")
    return errors


def main():
    ap = argparse.ArgumentParser(description="Generate the student skeleton.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--src", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                    help="reference tree (default: the tree holding this script)")
    ap.add_argument("--out", required=True, help="output directory (replaced)")
    args = ap.parse_args()
    src, out = os.path.abspath(args.src), os.path.abspath(args.out)
    if out == src or out.startswith(src + os.sep) and not os.path.relpath(out, src).startswith("build"):
        sys.exit(f"handout: --out must be outside {src} or under one of its build* directories")
    if os.path.exists(out):
        shutil.rmtree(out)
    try:
        removed_fns = generate(src, out)
    except MarkerError as e:
        sys.exit(f"handout: {e}")
    errors = verify(out, removed_fns)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(f"handout: {len(errors)} leak(s) of solution code in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
