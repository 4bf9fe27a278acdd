#!/usr/bin/env python3
"""stress.py - run graded tests many times, in parallel, to shake out rare
failures. Python 3 standard library only.

    stress.py [options] <test-binary> [test-or-pattern ...]
    stress.py [options] --lab lab3C [test-or-pattern ...]

Each selected test runs N times (-n), P runs at a time (-p), every run in its
own process with a fresh seed (`<binary> --seed S --timeout 120 <Test>`).
Patterns are Python regexes searched in the test names (an exact name
matches itself); no pattern means every test of the binary (or of the lab
part given with --lab; lab5, lab5A and lab5B select from both lab 5
binaries as `make test-lab5A` does). A live progress line shows runs done, failures, the
tests running and the ETA; at the end a table gives, per test, runs, failures
and mean/max wall time. The exit status is 1 if any run failed, 130 if the
run was stopped: Ctrl-C or SIGTERM kills the running tests (they run in
their own sessions) and prints the table of what finished.

Only failing runs leave files, in the results directory (default
results/stress-<timestamp>/):
    <Test>-<run>-seed<S>.log    the run's output, ending with how it
                                failed (exit status, signal, or timeout)
    <Test>-<run>-seed<S>.timeline.html   the run's timeline (RPCs, crashes,
                                partitions, terms, applies, the failed
                                check; test-scripts/timeline.py), named in
                                the output by a line "timeline: PATH"
With --lablog LEVEL, a failed run is re-run once with the same seed and
LABLOG=LEVEL (debug logs are too expensive to collect for every run) and
its log is kept as <Test>-<run>-seed<S>.rerun.log / .trace; the seed fixes
the tests' random choices, so the rerun often, though not always, fails the
same way. --always-lablog collects the debug log on every run instead.

Examples:
    stress.py -n 100 -p 4 build/release/tests/lab3 TestFigure8Unreliable3C
    stress.py -n 20 -p 2 --lab lab3A
    stress.py -n 30 -p 2 --lab lab5B TestChallenge1Delete
    stress.py -n 50 -p 8 --lablog debug build/release/tests/lab3 '3D$'

Mind the CPU count: the tests have timing limits, so running more parallel
runs than the machine can carry produces failures of its own.
"""

import argparse
import datetime
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

GRACE_S = 10

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import timeline  # noqa: E402  (test-scripts/timeline.py)


def list_tests(binary):
    try:
        out = subprocess.run([binary, "--list"], check=True, capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        sys.exit(f"stress: cannot list tests of {binary}: {e}")
    return [line.strip() for line in out.splitlines() if line.strip()]


# Lab 5 has two binaries; part A is the controller's tests (no suffix) plus
# shardkv's 5A tests, as `make test-lab5A` runs them.
LAB5_PARTS = {
    "": [("lab5sc", None), ("lab5kv", None)],
    "A": [("lab5sc", None), ("lab5kv", "5A$")],
    "B": [("lab5kv", "5B$|Challenge")],
}


def lab_targets(lab, build):
    """'lab3C' -> [(build/tests/lab3, '3C$')]; 'lab3' -> [(.../lab3, None)];
    'lab5A' -> [(.../lab5sc, None), (.../lab5kv, '5A$')]."""
    m = re.fullmatch(r"(?:test-)?lab(\d+)([A-Z]?)", lab)
    if not m:
        sys.exit(f"stress: --lab wants a name like lab3 or lab3C, not {lab!r}")
    num, part = m.group(1), m.group(2)
    if num == "5":
        if part not in LAB5_PARTS:
            sys.exit(f"stress: lab 5 has parts A and B, not {part!r}")
        return [(os.path.join(build, "tests", b), pat) for b, pat in LAB5_PARTS[part]]
    pattern = f"{num}{part}$" if part else None
    return [(os.path.join(build, "tests", f"lab{num}"), pattern)]


class Run:
    def __init__(self, binary, test, n):
        self.binary, self.test, self.n = binary, test, n
        self.seed = random.SystemRandom().randrange(1, 2**63)
        self.ok = None
        self.secs = 0.0
        self.why = ""


def execute(binary, test, seed, timeout, logpath, env, procs, lock, stop):
    """Run once with output to logpath; returns (ok, secs, why), or None if
    the whole run is being stopped."""
    cmd = [binary, "--seed", str(seed), "--timeout", str(timeout), test]
    t0 = time.monotonic()
    with open(logpath, "wb") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        # Registered under the lock that kill_all() takes after setting
        # stop, so no process starts after the others were killed.
        with lock:
            if stop.is_set():
                return None
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)
            procs.add(proc)
        why = ""
        try:
            rc = proc.wait(timeout=(timeout + GRACE_S) if timeout else None)
        except subprocess.TimeoutExpired:
            rc = None
            why = f"killed after {time.monotonic() - t0:.0f} s"
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if rc is None:
                proc.wait()
            with lock:
                procs.discard(proc)
    secs = time.monotonic() - t0
    if stop.is_set():
        return None  # killed by us, not a failure
    if not why and rc != 0:
        if rc < 0:
            try:
                why = f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                why = f"killed by signal {-rc}"
        else:
            why = f"exit status {rc}"
            # The first line of the failure report is the best summary.
            try:
                with open(logpath, encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
                for i, line in enumerate(lines):
                    if line.startswith("--- FAIL") and i + 1 < len(lines):
                        why = lines[i + 1].strip()
                        break
            except OSError:
                pass
    if why:
        # Say in the log itself how the run ended (a crash or a hang
        # leaves no summary line of its own).
        try:
            with open(logpath, "a", encoding="utf-8") as f:
                f.write(f"\nstress: run failed after {secs:.1f} s: {why}\n")
        except OSError:
            pass
    return not why, secs, why


def main():
    ap = argparse.ArgumentParser(
        description="Run graded tests many times in parallel.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("binary", nargs="?", help="test binary (or use --lab)")
    ap.add_argument("tests", nargs="*", help="test names or regexes")
    ap.add_argument("--lab", help="a lab target instead of a binary: lab3, lab3C, ...")
    ap.add_argument("--build", default="build/release",
                    help="build tree for --lab (default build/release)")
    ap.add_argument("-n", "--runs", type=int, default=10, help="runs per test (default 10)")
    ap.add_argument("-p", "--parallel", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                    help="runs at a time (default: half the CPUs)")
    ap.add_argument("--timeout", type=int, default=120, help="per-run limit, s (default 120)")
    ap.add_argument("-o", "--results", help="results dir (default results/stress-<time>)")
    ap.add_argument("--lablog", metavar="LEVEL",
                    help="re-run each failure with LABLOG=LEVEL and keep its debug log")
    ap.add_argument("--always-lablog", metavar="LEVEL",
                    help="run every run with LABLOG=LEVEL (slow; logs kept for failures)")
    ap.add_argument("-x", "--fail-fast", action="store_true", help="stop at the first failure")
    args = ap.parse_args()

    patterns = list(args.tests)
    if args.lab:
        if args.binary:
            patterns.insert(0, args.binary)  # the positional was a test name
        targets = lab_targets(args.lab, args.build)
    elif args.binary:
        targets = [(args.binary, None)]
    else:
        ap.error("give a test binary or --lab")
    for p in patterns:
        try:
            re.compile(p)
        except re.error as e:
            sys.exit(f"stress: bad pattern {p!r}: {e}")

    # (binary, test) pairs in file order; a test name or pattern must
    # select something in at least one binary.
    listed = []
    for binary, part in targets:
        if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
            sys.exit(f"stress: {binary}: not an executable (build it first)")
        binary = os.path.abspath(binary)
        listed += [(binary, n) for n in list_tests(binary)
                   if not part or re.search(part, n)]
    exact = {n for _, n in listed} & set(patterns)  # a name matches itself only
    tests, matched = [], set()
    for binary, n in listed:
        hit = [p for p in patterns
               if p == n or (p not in exact and re.search(p, n))]
        if patterns and not hit:
            continue
        matched.update(hit)
        tests.append((binary, n))
    for p in patterns:
        if p not in matched:
            sys.exit(f"stress: no test matches {p!r}")
    if not tests:
        sys.exit("stress: no tests selected")
    names = [n for _, n in tests]
    if args.runs < 1 or args.parallel < 1:
        ap.error("-n and -p must be at least 1")

    results = args.results or os.path.join(
        "results", "stress-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    os.makedirs(results, exist_ok=True)
    tmpdir = os.path.join(results, ".running")
    os.makedirs(tmpdir, exist_ok=True)

    # Interleave the tests so a slow one doesn't bunch up at the end.
    runs = [Run(b, t, i) for i in range(args.runs) for b, t in tests]
    total = len(runs)
    lock = threading.Lock()
    procs = set()
    done = []
    running = {}
    stop = threading.Event()
    t_start = time.monotonic()
    isatty = sys.stdout.isatty()
    last_printed = [-1]

    def progress(final=False):
        nd = len(done)
        nf = sum(1 for r in done if not r.ok)
        el = time.monotonic() - t_start
        eta = ""
        if 0 < nd < total:
            eta = f" eta {el / nd * (total - nd):.0f}s"
        cur = ",".join(sorted({r.test for r in running.values()}))
        if len(cur) > 60:
            cur = cur[:57] + "..."
        line = f"[{nd}/{total}] fails {nf}  {el:.0f}s{eta}  {cur}"
        if isatty:
            cols = shutil.get_terminal_size((100, 20)).columns
            sys.stdout.write("\r\033[K" + line[:cols - 1] + ("\n" if final else ""))
            sys.stdout.flush()
        elif (final or nd % max(1, total // 20) == 0) and last_printed[0] != nd:
            last_printed[0] = nd
            print(line, flush=True)

    def work(run):
        if stop.is_set():
            return run
        with lock:
            running[id(run)] = run
        env = dict(os.environ)
        base = os.path.join(tmpdir, f"{run.test}-{run.n}-seed{run.seed}")
        if args.always_lablog:
            env["LABLOG"] = args.always_lablog
            env["LABLOG_FILE"] = base + ".trace"
        if env.get("LAB_TIMELINE") != "off":
            env["LAB_TIMELINE"] = base + ".events"
        res = execute(run.binary, run.test, run.seed, args.timeout, base + ".log",
                      env, procs, lock, stop)
        if res is None:  # stopped: neither a pass nor a failure
            with lock:
                running.pop(id(run), None)
            for ext in (".log", ".trace", ".events"):
                if os.path.exists(base + ext):
                    os.unlink(base + ext)
            return run
        ok, secs, why = res
        run.ok, run.secs, run.why = ok, secs, why
        final = os.path.join(results, os.path.basename(base))
        page = None
        if ok:
            for ext in (".log", ".trace", ".events"):
                if os.path.exists(base + ext):
                    os.unlink(base + ext)
        else:
            for ext in (".log", ".trace", ".events"):
                if os.path.exists(base + ext):
                    os.replace(base + ext, final + ext)
            page = timeline.render_lab(final + ".events", final + ".timeline.html",
                                       final + ".log", final + ".trace")
            if args.lablog and not stop.is_set():
                env = dict(os.environ)
                env["LABLOG"] = args.lablog
                env["LABLOG_FILE"] = final + ".rerun.trace"
                if env.get("LAB_TIMELINE") != "off":
                    env["LAB_TIMELINE"] = final + ".rerun.events"
                res = execute(run.binary, run.test, run.seed, args.timeout,
                              final + ".rerun.log", env, procs, lock, stop)
                if res is not None:
                    rok, _, rwhy = res
                    run.why += f"  [rerun with LABLOG: {'passed' if rok else rwhy}]"
                    if not rok:
                        # The debug log's lines go into their peers' lanes.
                        page = timeline.render_lab(
                            final + ".rerun.events", final + ".rerun.timeline.html",
                            final + ".rerun.log", final + ".rerun.trace") or page
            if args.fail_fast:
                stop.set()
        with lock:
            running.pop(id(run), None)
            done.append(run)
            if not ok:
                sys.stdout.write(("\r\033[K" if isatty else "") +
                                 f"FAIL {run.test} run {run.n} seed {run.seed}: {run.why}\n"
                                 f"     log: {final}.log\n" +
                                 (f"     timeline: {page}\n" if page else ""))
            progress()
        return run

    def kill_all():
        stop.set()
        with lock:
            for p in list(procs):
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    # SIGTERM (kill, a CI timeout) stops the run like Ctrl-C: the tests run
    # in their own sessions, so nobody else would stop them.
    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    interrupted = False
    pool = ThreadPoolExecutor(max_workers=args.parallel)
    try:
        futs = [pool.submit(work, r) for r in runs]
        for _ in as_completed(futs):
            pass
    except KeyboardInterrupt:
        interrupted = True
        kill_all()
    finally:
        if interrupted:
            print("\nstress: interrupted; stopping the running tests", flush=True)
        # Cancel what has not started; wait for the workers (their
        # processes are dead, so this is quick); a second Ctrl-C during
        # the wait kills again.
        while True:
            try:
                pool.shutdown(wait=True, cancel_futures=True)
                break
            except KeyboardInterrupt:
                interrupted = True
                kill_all()
    progress(final=True)
    shutil.rmtree(tmpdir, ignore_errors=True)

    # The table.
    print()
    w = max([len("test")] + [len(n) for n in names])
    print(f"{'test':<{w}}  {'runs':>5}  {'fails':>5}  {'mean s':>7}  {'max s':>7}")
    any_fail = False
    for b, n in tests:
        rs = [r for r in done if r.binary == b and r.test == n and r.ok is not None]
        fails = sum(1 for r in rs if not r.ok)
        any_fail |= fails > 0
        mean = sum(r.secs for r in rs) / len(rs) if rs else 0.0
        mx = max((r.secs for r in rs), default=0.0)
        print(f"{n:<{w}}  {len(rs):>5}  {fails:>5}  {mean:>7.1f}  {mx:>7.1f}")
    el = time.monotonic() - t_start
    print(f"\n{len(done)} runs in {el:.0f}s, {sum(1 for r in done if not r.ok)} failed")
    if any_fail:
        print(f"failure logs in {results}/")
    elif not os.listdir(results):
        os.rmdir(results)
    if interrupted:
        return 130
    return 1 if any_fail or len(done) < total else 0


if __name__ == "__main__":
    sys.exit(main())
