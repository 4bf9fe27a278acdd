#!/bin/sh
# test-stress.sh - self-test of stress.py against fake test binaries (no
# real lab runs): lab 5's two binaries behind --lab lab5A/lab5B, a crash
# recorded as a failure with its signal in the log, the exit status, and
# SIGTERM stopping a run without leaving its tests running.
#   test-scripts/test-stress.sh           (part of make test: make test-tools)
set -u
here=$(cd "$(dirname "$0")" && pwd)
stress="$here/stress.py"
tmp=$(mktemp -d /tmp/test-stress.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-stress: FAIL: $*"; exit 1; }
# Pids of the hanging fake test (no procps needed).
hangers() {
    for f in /proc/[0-9]*/cmdline; do
        { tr '\0' ' ' < "$f"; } 2>/dev/null | grep -q "^sleep 4242" &&
            basename "$(dirname "$f")"
    done
}

mkdir -p "$tmp/b/tests"
# A fake lab5sc: TestMulti crashes; the others pass.
cat > "$tmp/b/tests/lab5sc" <<'FAKE'
#!/bin/sh
[ "$1" = --list ] && { printf 'TestBasic\nTestMulti\n'; exit 0; }
[ "$5" = TestMulti ] && kill -SEGV $$
echo "  ... Passed"
FAKE
# A fake lab5kv: TestJoinLeave5B hangs (it leaves a marker process).
cat > "$tmp/b/tests/lab5kv" <<FAKE
#!/bin/sh
[ "\$1" = --list ] && { printf 'TestStaticShards5A\nTestJoinLeave5B\nTestChallenge1Delete\n'; exit 0; }
[ "\$5" = TestJoinLeave5B ] && exec sleep 4242
echo "  ... Passed"
FAKE
chmod +x "$tmp/b/tests/lab5sc" "$tmp/b/tests/lab5kv"

# lab5A = both of lab5sc's tests + lab5kv's 5A test; TestMulti fails.
"$stress" --build "$tmp/b" --lab lab5A -n 2 -p 2 -o "$tmp/r1" > "$tmp/r1.out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "lab5A run: exit $rc, want 1 (a test failed)"
for t in TestBasic TestMulti TestStaticShards5A; do
    grep -q "^$t  *2 " "$tmp/r1.out" || fail "lab5A: $t not run twice"
done
grep -q "TestJoinLeave5B" "$tmp/r1.out" && fail "lab5A ran a 5B test"
grep -q "^TestMulti  *2  *2 " "$tmp/r1.out" || fail "lab5A: TestMulti's 2 failures not counted"
log=$(ls "$tmp"/r1/TestMulti-*.log 2>/dev/null | head -1)
[ -n "$log" ] || fail "no log kept for the failed TestMulti"
grep -q "killed by SIGSEGV" "$log" || fail "the failed run's log does not say SIGSEGV"
ls "$tmp"/r1/TestBasic-* >/dev/null 2>&1 && fail "a passing run left a log"

# An exact name selects only itself; a 5B pattern finds lab5kv's test.
"$stress" --build "$tmp/b" --lab lab5 TestBasic -n 1 -o "$tmp/r2" > "$tmp/r2.out" 2>&1 ||
    fail "lab5 TestBasic failed: $(cat "$tmp/r2.out")"
grep -q "^1 runs" "$tmp/r2.out" || fail "lab5 TestBasic ran more than TestBasic"
"$stress" --build "$tmp/b" --lab lab5B NoSuchTest -o "$tmp/r3" > /dev/null 2>&1 &&
    fail "an unknown test name was accepted"

# SIGTERM mid-run: exit 130, and the hanging tests are gone.
"$stress" --build "$tmp/b" --lab lab5B -n 3 -p 3 -o "$tmp/r4" > "$tmp/r4.out" 2>&1 &
pid=$!
i=0
while [ -z "$(hangers)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -n "$(hangers)" ] || fail "the hanging fake test never started"
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || fail "SIGTERM: exit $rc, want 130"
sleep 0.5
left=$(hangers)
[ -z "$left" ] || { kill -9 $left; fail "SIGTERM left tests running"; }
grep -q "interrupted" "$tmp/r4.out" || fail "SIGTERM: no 'interrupted' message"
echo "test-stress: PASS (lab 5 parts, failure logs, exact names, SIGTERM)"
