#!/usr/bin/env python3
"""run-lab.py - run a lab's graded tests, each in its own process.

    run-lab.py [options] <test-binary> [pattern ...]

Every test whose name matches one of the patterns (Python regular
expressions searched in the name, like `go test -run`; no pattern = all) runs
as `<binary> --seed S --timeout 120 <TestName>` in its own process group,
one after another in file order. Output streams to the terminal as it comes.
A test fails if it exits non-zero, is killed, or outlives its limit (the
binary's own watchdog fails it at 120 s; the runner kills it 10 s later if it
is wedged). The whole run has a budget (600 s by default, as in 6.5840
grading): once it is spent the running test is killed and the rest are
reported as not run.

Each test's output goes to <logdir>/<TestName>.log; logs of passing tests are
deleted, logs of failing ones are kept and their path, seed and a replay
command are printed. With --lablog LEVEL the tests also write the
topic-tagged debug log (common/log.h) to <logdir>/<TestName>.trace, kept on
failure too (read it with test-scripts/pretty-log.py).

Every test records its run (labs/timeline/timeline.h: RPCs, crashes,
partitions, terms, starts, applies, client operations) into
<logdir>/<TestName>.events when it fails; the runner turns that into
<logdir>/<TestName>.timeline.html (test-scripts/timeline.py) and prints a
line "timeline: PATH". LAB_TIMELINE=off in the environment turns recording
off.

Closing lines:   lab3A: 3 passed, 0 failed
                 ok      lab3A   16.3s        (or FAIL ...; exit status 1)

Examples:
    run-lab.py build/release/tests/lab3 3A$
    run-lab.py --label lab3C build/release/tests/lab3 '3C$'
    run-lab.py --seed 42 build/release/tests/lab3 TestFigure83C
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timeline  # noqa: E402  (test-scripts/timeline.py)

GRACE_S = 10  # after the binary's own watchdog, before SIGKILL


def list_tests(binary):
    try:
        out = subprocess.run([binary, "--list"], check=True, capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        sys.exit(f"run-lab: cannot list tests of {binary}: {e}")
    return [line.strip() for line in out.splitlines() if line.strip()]


def select(names, patterns):
    if not patterns:
        return list(names)
    try:
        regs = [re.compile(p) for p in patterns]
    except re.error as e:
        sys.exit(f"run-lab: bad pattern: {e}")
    return [n for n in names if any(r.search(n) for r in regs)]


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_test(binary, name, seed, timeout, hard_limit, logpath, env, quiet):
    """Run one test; returns (ok, seconds, why)."""
    cmd = [binary, "--seed", str(seed), "--timeout", str(timeout), name]
    t0 = time.monotonic()
    with open(logpath, "w", encoding="utf-8", errors="replace") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)

        # The failure message's first line is its one-line summary (what
        # went wrong and the likely cause); more lines (details, the
        # config's state dump) stay in the log, and the summary says so.
        first_error = []
        more = []

        def pump():
            after_fail = False
            for raw in iter(proc.stdout.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                log.write(line)
                log.flush()
                if first_error and not more and line.strip() and \
                        not line.lstrip().startswith("seed:") and \
                        line.rstrip("\n") != "FAIL":
                    more.append(True)
                if after_fail and not first_error:
                    first_error.append(line.strip())
                after_fail = line.startswith("--- FAIL")
                # The binary's closing PASS/FAIL duplicates our result line.
                if not quiet and line.rstrip("\n") not in ("PASS", "FAIL"):
                    sys.stdout.write(line)
                    sys.stdout.flush()

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        why = ""
        try:
            rc = proc.wait(timeout=hard_limit)
        except subprocess.TimeoutExpired:
            kill_group(proc)
            rc = proc.wait()
            why = f"killed after {time.monotonic() - t0:.0f} s"
        except KeyboardInterrupt:
            kill_group(proc)
            proc.wait()
            raise
        finally:
            # Orphaned grandchildren (none expected) must not keep the pipe.
            kill_group(proc)
        reader.join(timeout=5)
        secs = time.monotonic() - t0
        if not why and rc != 0:
            if rc < 0:
                try:
                    why = f"killed by {signal.Signals(-rc).name}"
                except ValueError:
                    why = f"killed by signal {-rc}"
            else:
                why = first_error[0] if first_error else f"exit status {rc}"
                if first_error and more:
                    why += " [more in the log]"
        if why:
            log.write(f"run-lab: {name} FAILED ({why}) seed {seed}\n")
    return rc == 0 and not why, secs, why


def main():
    ap = argparse.ArgumentParser(
        description="Run graded lab tests, one process per test.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("binary")
    ap.add_argument("patterns", nargs="*", help="regexes matched against test names")
    ap.add_argument("--label", help="name in the closing lines (default: binary name)")
    ap.add_argument("--timeout", type=int, default=120, help="per-test limit, s (default 120)")
    ap.add_argument("--total-timeout", type=int, default=600,
                    help="budget for the whole run, s (default 600; 0 = none)")
    ap.add_argument("--seed", type=int, help="use this seed for every test (replay)")
    ap.add_argument("--log-dir", help="where to keep logs (default: a new temp dir)")
    ap.add_argument("--keep-logs", action="store_true", help="keep logs of passing tests too")
    ap.add_argument("--lablog", metavar="LEVEL",
                    help="also capture the debug log (LABLOG=LEVEL[:TOPICS]) per test")
    ap.add_argument("-q", "--quiet", action="store_true",
                    help="don't stream test output, print only result lines")
    ap.add_argument("--list", action="store_true", help="list the selected tests and exit")
    args = ap.parse_args()

    binary = args.binary
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        sys.exit(f"run-lab: {binary}: not an executable (build it first)")
    if os.sep not in binary:
        binary = "./" + binary
    label = args.label or os.path.basename(binary)
    names = select(list_tests(binary), args.patterns)
    if not names:
        sys.exit(f"run-lab: no test of {binary} matches {args.patterns}")
    if args.list:
        print("\n".join(names))
        return 0

    if args.log_dir:
        logdir = args.log_dir
        os.makedirs(logdir, exist_ok=True)
    else:
        logdir = tempfile.mkdtemp(prefix=f"{label}-")
    rng = random.SystemRandom()

    t_start = time.monotonic()
    results = []  # (name, ok, secs, seed, why, logpath)
    interrupted = False
    for idx, name in enumerate(names):
        elapsed = time.monotonic() - t_start
        if args.total_timeout and elapsed >= args.total_timeout:
            for rest in names[idx:]:
                results.append((rest, False, 0.0, None,
                                f"not run: {label} exceeded {args.total_timeout} s", None))
                print(f"SKIP  {rest}  (not run: the {args.total_timeout} s budget is spent)")
            break
        seed = args.seed if args.seed is not None else rng.randrange(1, 2**63)
        hard = args.timeout + GRACE_S if args.timeout else None
        budget_left = None
        if args.total_timeout:
            budget_left = max(1.0, args.total_timeout - elapsed)
            hard = budget_left if hard is None else min(hard, budget_left)
        env = dict(os.environ)
        logpath = os.path.join(logdir, f"{name}.log")
        tracepath = os.path.join(logdir, f"{name}.trace")
        eventspath = os.path.join(logdir, f"{name}.events")
        htmlpath = os.path.join(logdir, f"{name}.timeline.html")
        if env.get("LAB_TIMELINE") != "off":
            env["LAB_TIMELINE"] = eventspath
        for p in (eventspath, htmlpath):
            if os.path.exists(p):
                os.unlink(p)
        if args.lablog:
            env["LABLOG"] = args.lablog
            env["LABLOG_FILE"] = tracepath
            if os.path.exists(tracepath):
                os.unlink(tracepath)
        try:
            ok, secs, why = run_test(binary, name, seed, args.timeout, hard, logpath,
                                     env, args.quiet)
        except KeyboardInterrupt:
            interrupted = True
            results.append((name, False, time.monotonic() - t_start - elapsed, seed,
                            "interrupted", logpath))
            print(f"\nFAIL  {name}  (interrupted)")
            break
        if not ok and budget_left is not None and secs >= budget_left - 0.5:
            why = f"killed: {label} exceeded its {args.total_timeout} s budget"
        if ok:
            print(f"PASS  {name}  {secs:.1f}s", flush=True)
            if not args.keep_logs:
                for p in (logpath, tracepath, eventspath):
                    if os.path.exists(p):
                        os.unlink(p)
        else:
            print(f"FAIL  {name}  {secs:.1f}s  ({why}; seed {seed})", flush=True)
            timeline.render_lab(eventspath, htmlpath, logpath, tracepath)
        results.append((name, ok, secs, seed, why, logpath))

    total = time.monotonic() - t_start
    npass = sum(1 for r in results if r[1])
    nfail = len(results) - npass
    if interrupted:
        nfail += len(names) - len(results)
    print(f"{label}: {npass} passed, {nfail} failed")
    for name, ok, secs, seed, why, logpath in results:
        if ok:
            continue
        if seed is None:
            print(f"  {name}: {why}")
            continue
        print(f"  {name}: {why}")
        print(f"      log:    {logpath}")
        trace = os.path.join(logdir, f"{name}.trace")
        if os.path.exists(trace):
            print(f"      trace:  {trace}   (test-scripts/pretty-log.py {trace})")
        page = os.path.join(logdir, f"{name}.timeline.html")
        if os.path.exists(page):
            print(f"      timeline: {page}")
        print(f"      replay: {binary} --seed {seed} {name}")
    try:
        if not os.listdir(logdir) and not args.log_dir:
            shutil.rmtree(logdir)
    except OSError:
        pass
    if args.total_timeout and total > args.total_timeout and nfail == 0:
        # Every test finished, but the run as a whole was too slow.
        print(f"{label}: took {total:.1f} s, more than the {args.total_timeout} s budget")
        nfail = 1
    status = "ok  " if nfail == 0 else "FAIL"
    print(f"{status}    {label}\t{total:.3f}s")
    if interrupted:
        return 130
    return 0 if nfail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
