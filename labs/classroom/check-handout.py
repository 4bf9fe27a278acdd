#!/usr/bin/env python3
"""check-handout.py - verify the student skeleton (make check-handout).

    labs/classroom/check-handout.py --out DIR [--jobs N] [--limit S]

1. Generates the skeleton into DIR with test-scripts/handout.py, which
   fails if a marker or a removed solution function is left in it.
2. Builds it with the project's flags (-Werror) in DIR/build.
3. Runs a sample of its graded tests (at least one per lab part, and the
   lab 1 script) under a short limit: each must fail cleanly -- exit with a
   non-zero status of its own, not be killed by a signal (a crash) nor
   outlive the limit (a hang). A stub that lets a test pass, crash or hang
   is a bug in the skeleton.
(That the reference itself builds is the make target's prerequisite.)
Exit status 0 if all of this holds, 1 otherwise.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
BUILD = "build/release"
SAMPLE = [
    ("lab2", "TestBasic2"), ("lab2", "TestMemPutMany"),
    ("lab3", "TestInitialElection3A"), ("lab3", "TestBasicAgree3B"),
    ("lab3", "TestPersist13C"), ("lab3", "TestSnapshotBasic3D"),
    ("lab4", "TestBasic4A"), ("lab4", "TestSnapshotRPC4B"),
    ("lab5sc", "TestBasic"), ("lab5kv", "TestStaticShards5A"),
    ("lab5kv", "TestJoinLeave5B"),
]


def run(cmd, cwd, limit, env=None):
    """(exit status, negative for a signal; None if it outlived limit), seconds."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        rc = None
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    return rc, time.monotonic() - t0


def verdict(rc, secs, limit):
    if rc is None:
        return f"HANG (still running after {limit} s)"
    if rc < 0:
        return f"CRASH (killed by {signal.Signals(-rc).name})"
    if rc == 0:
        return "PASSED (a stub must not pass)"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--out", required=True, help="where to generate the skeleton")
    ap.add_argument("--jobs", type=int, default=2, help="make -j (default 2)")
    ap.add_argument("--limit", type=int, default=30, help="per-test limit, s (default 30)")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    t_start = time.monotonic()

    gen = subprocess.run([sys.executable, os.path.join(ROOT, "test-scripts/handout.py"),
                          "--out", out])
    if gen.returncode != 0:
        print("check-handout: FAIL: generating the skeleton")
        return 1
    print(f"check-handout: building the skeleton (make -j{args.jobs} in {out})", flush=True)
    b = subprocess.run(["make", f"-j{args.jobs}", "BUILDDIR=build", "all"], cwd=out,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    if b.returncode != 0:
        print(b.stdout[-6000:])
        print("check-handout: FAIL: the skeleton does not build")
        return 1

    bad = 0
    for binary, test in SAMPLE:
        cmd = [os.path.join(BUILD, "tests", binary), "--seed", "1", "--timeout",
               str(args.limit), test]
        rc, secs = run(cmd, out, args.limit + 5)
        why = verdict(rc, secs, args.limit + 5)
        print(f"{'BAD ' if why else 'ok  '}  {binary} {test}  {secs:.1f}s  "
              f"{why or f'failed cleanly (exit {rc})'}", flush=True)
        bad += why is not None
    mr_limit = 4 * args.limit
    rc, secs = run(["test-scripts/test-mr.sh", "quiet"], out, mr_limit,
                   env=dict(os.environ, BUILD=BUILD))
    why = verdict(rc, secs, mr_limit)
    print(f"{'BAD ' if why else 'ok  '}  lab1 test-mr.sh  {secs:.1f}s  "
          f"{why or f'failed cleanly (exit {rc})'}")
    bad += why is not None

    total = time.monotonic() - t_start
    if bad:
        print(f"check-handout: FAIL: {bad} sample test(s) misbehaved ({total:.0f} s)")
        return 1
    print(f"check-handout: ok: skeleton generated, leak-checked, built; "
          f"{len(SAMPLE) + 1} sample tests fail cleanly ({total:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
