#!/usr/bin/env python3
"""test-grade-prepare.py - grade's step 2 (restoring what students must not
change) also covers the make code in the student's directories.

A module.mk in kvsrv/ or raft/ runs at build time, after the protected
files are restored: a `$(shell ...)` there could rewrite the test network,
and a new raft/x/module.mk or a root GNUmakefile is read by make as well.
This builds a small student tree and skeleton, runs grade's prepare() on
them and checks that every such file comes from the skeleton, that links
are dropped rather than followed, and that the student's own C files stay.

    labs/classroom/tests/test-grade-prepare.py
"""

import importlib.machinery
import importlib.util
import os
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def load_grade():
    path = os.path.join(ROOT, "test-scripts", "grade")
    loader = importlib.machinery.SourceFileLoader("grade", path)
    spec = importlib.util.spec_from_loader("grade", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def main():
    grade = load_grade()
    failures = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        skel, tree, work = (os.path.join(tmp, n) for n in ("skel", "tree", "work"))
        for f in ("Makefile", "kvsrv/module.mk", "raft/module.mk", "kvraft/module.mk",
                  "shardkv/module.mk", "labs/net/labnet.c", "labs/module.mk"):
            write(os.path.join(skel, f), f"skeleton {f}\n")
        write(os.path.join(skel, "kvsrv/server.c"), "skeleton stub\n")

        evil = "$(shell echo tampered >> labs/net/labnet.c)\n"
        write(os.path.join(tree, "Makefile"), "student Makefile\n")
        write(os.path.join(tree, "GNUmakefile"), evil)
        write(os.path.join(tree, "makefile"), evil)
        write(os.path.join(tree, "kvsrv/module.mk"), evil)
        write(os.path.join(tree, "kvsrv/server.c"), "student server\n")
        write(os.path.join(tree, "kvsrv/extra.c"), "student helper\n")
        write(os.path.join(tree, "raft/module.mk"), evil)
        write(os.path.join(tree, "raft/evil/module.mk"), evil)
        os.makedirs(os.path.join(tree, "kvraft/module.mk"))  # a directory
        write(os.path.join(tree, "kvraft/server.c"), "student kvraft\n")
        write(os.path.join(tree, "labs/net/labnet.c"), "student labnet\n")
        # shardkv/ linked to the protected labs/: its module.mk is labs/module.mk
        os.symlink("labs", os.path.join(tree, "shardkv"))
        # mr/x linked to labs/: mr/x/module.mk is labs/module.mk again
        os.makedirs(os.path.join(tree, "mr"))
        os.symlink("../labs", os.path.join(tree, "mr/x"))

        grade.prepare(tree, work, skel)

        for f in ("Makefile", "kvsrv/module.mk", "raft/module.mk", "kvraft/module.mk",
                  "shardkv/module.mk", "labs/net/labnet.c", "labs/module.mk"):
            p = os.path.join(work, f)
            check(os.path.isfile(p) and not os.path.islink(p)
                  and read(p) == f"skeleton {f}\n", f"{f} is the skeleton's")
        for f in ("GNUmakefile", "makefile", "raft/evil/module.mk", "mr/x"):
            check(not os.path.lexists(os.path.join(work, f)), f"{f} removed")
        check(not os.path.islink(os.path.join(work, "shardkv")), "shardkv/ is not a link")
        check(read(os.path.join(work, "kvsrv/server.c")) == "student server\n",
              "the student's kvsrv/server.c kept")
        check(read(os.path.join(work, "kvsrv/extra.c")) == "student helper\n",
              "the student's new kvsrv/extra.c kept")
        check(read(os.path.join(work, "kvraft/server.c")) == "student kvraft\n",
              "the student's kvraft/server.c kept")

    # The real fragments build every .c of their directory, so a student's
    # new file needs no module.mk edit (grade would undo one).
    for d, frag in (("kvsrv", "$(wildcard kvsrv/*.c)"), ("kvraft", "$(wildcard kvraft/*.c)"),
                    ("shardkv", "$(wildcard shardkv/*.c)"), ("raft", "$(wildcard raft/*.c)"),
                    ("shardctrler", "$(wildcard shardctrler/*.c)"), ("mr", "$(wildcard mr/*.c)")):
        check(frag in read(os.path.join(ROOT, d, "module.mk")), f"{d}/module.mk builds {frag}")

    if failures:
        print(f"test-grade-prepare: {len(failures)} FAILED")
        return 1
    print("test-grade-prepare: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
