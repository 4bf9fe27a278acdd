#!/usr/bin/env python3
"""make-autograder.py - build the zip Gradescope's autograder wants.

    make-autograder.py --out FILE.zip [--labs "3"] [--runs N]
                       [--timeout S] [--lab-timeout S]

The zip holds, at its top (Gradescope unpacks it into /autograder/source):
  setup.sh          installs the Debian/Ubuntu packages (test-scripts/deps.sh)
  run_autograder    lays the submission into the skeleton, runs grade,
                    writes /autograder/results/results.json
  autograder.conf   the course's parts, runs and limits (from the options)
  skeleton/         the student handout (test-scripts/handout.py), whose
                    protected files (tests, tester, RPC layer) grade
                    restores over the submission
Executable bits are kept. labs/classroom/tests/test-autograder.sh runs the
zip end to end in Gradescope's directory layout.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def add(z, path, arcname):
    info = zipfile.ZipInfo.from_file(path, arcname)
    info.compress_type = zipfile.ZIP_DEFLATED
    if os.path.isdir(path):
        z.writestr(info, b"")
        return
    with open(path, "rb") as f:
        z.writestr(info, f.read())


def main():
    ap = argparse.ArgumentParser(description="Build the Gradescope autograder zip.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--out", required=True, help="the zip to write")
    ap.add_argument("--labs", default="1 2 3 4 5",
                    help="labs or parts graded, as grade takes them (default: all)")
    ap.add_argument("--runs", type=int, default=1, help="runs of every test (default 1)")
    ap.add_argument("--timeout", type=int, default=120, help="per-test limit, s")
    ap.add_argument("--lab-timeout", type=int, default=600, help="per-part run limit, s")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        skel = os.path.join(tmp, "skeleton")
        r = subprocess.run([sys.executable, os.path.join(ROOT, "test-scripts/handout.py"),
                            "--src", ROOT, "--out", skel], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"make-autograder: cannot generate the skeleton:\n{r.stdout}{r.stderr}")
        conf = os.path.join(tmp, "autograder.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("# autograder.conf - the course's grading settings (sourced by "
                    "run_autograder)\n"
                    f'PARTS="{args.labs}"\nRUNS={args.runs}\nTIMEOUT={args.timeout}\n'
                    f"LAB_TIMEOUT={args.lab_timeout}\n")
        out = os.path.abspath(args.out)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with zipfile.ZipFile(out + ".tmp", "w") as z:
            for name in ("setup.sh", "run_autograder"):
                add(z, os.path.join(HERE, name), name)
            add(z, conf, "autograder.conf")
            for d, dirs, files in os.walk(skel):
                dirs.sort()
                for name in sorted(files):
                    p = os.path.join(d, name)
                    add(z, p, os.path.relpath(p, tmp))
        os.replace(out + ".tmp", out)
    print(f"make-autograder: wrote {out} (labs {args.labs}, {args.runs} run(s), "
          f"{args.timeout} s per test)")


if __name__ == "__main__":
    main()
