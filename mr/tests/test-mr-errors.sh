#!/usr/bin/env bash
# test-mr-errors.sh - lab 1 programs under bad input and failures: each case
# must give a clear message and a non-zero exit (or recover, for crashed
# workers), and must never leave a partial or corrupt mr-out-*.
#
#   BUILD=build/release mr/tests/test-mr-errors.sh      (make test-mr-errors)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build/release}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BIN=$BUILD/bin
APPS=$BUILD/apps
T="timeout -k 2s 60s"

TMPD=$(mktemp -d "${MR_TMP:-$BUILD}/mr-errors.XXXXXX") || exit 1
cd "$TMPD" || exit 1
pass=0
fail=0
ok() { echo "ok   - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }

# expect NAME STATUS-SHOULD-BE-NONZERO(1/0) PATTERN -- command...
# Runs the command, checks its exit status and that stderr matches.
expect() {
    local name=$1 nonzero=$2 pat=$3
    shift 4
    "$@" > out.txt 2> err.txt
    local rc=$?
    if [ "$nonzero" = 1 ] && [ $rc -eq 0 ]; then
        bad "$name: exit status 0, expected failure"
    elif [ "$nonzero" = 0 ] && [ $rc -ne 0 ]; then
        bad "$name: exit status $rc: $(head -c 300 err.txt)"
    elif ! grep -q -- "$pat" err.txt; then
        bad "$name: stderr lacks '$pat': $(head -c 300 err.txt)"
    else
        ok "$name"
    fi
}

no_out() { # no mr-out-* and no stray temporaries may exist
    if ls mr-out-* > /dev/null 2>&1; then
        bad "$1: left mr-out files: $(ls mr-out-*)"
    fi
}

cat > in1.txt << 'EOF'
It was the best of times, it was the worst of times.
EOF
cat > in2.txt << 'EOF'
The quick brown fox jumps over the lazy dog; the dog sleeps.
EOF

# --- usage -----------------------------------------------------------------
expect "coordinator usage" 1 "^Usage: mrcoordinator inputfiles\.\.\." -- $BIN/mrcoordinator
expect "worker usage (no args)" 1 "^Usage: mrworker xxx\.so" -- $BIN/mrworker
expect "worker usage (2 args)" 1 "^Usage: mrworker xxx\.so" -- $BIN/mrworker a.so b.so
expect "sequential usage" 1 "^Usage: mrsequential xxx\.so inputfiles\.\.\." -- $BIN/mrsequential $APPS/wc.so
expect "coordinator bad flag" 1 "^Usage: mrcoordinator" -- $BIN/mrcoordinator -r 0 in1.txt

# --- bad inputs ----------------------------------------------------------------
expect "coordinator missing input" 1 "cannot read nope.txt: No such file" -- \
    $T $BIN/mrcoordinator -a 127.0.0.1:0 in1.txt nope.txt
expect "coordinator directory input" 1 "cannot read data: Is a directory" -- \
    bash -c "mkdir -p data && exec $BIN/mrcoordinator -a 127.0.0.1:0 data"
if [ "$(id -u)" != 0 ]; then
    cp in1.txt locked.txt && chmod 000 locked.txt
    expect "coordinator unreadable input" 1 "cannot read locked.txt: Permission denied" -- \
        $T $BIN/mrcoordinator -a 127.0.0.1:0 locked.txt
    expect "sequential unreadable input" 1 "cannot read locked.txt: Permission denied" -- \
        $BIN/mrsequential $APPS/wc.so locked.txt
    rm -f locked.txt
else
    echo "skip - unreadable-file cases (running as root reads anything)"
fi
expect "sequential missing input" 1 "cannot read nope.txt" -- \
    $BIN/mrsequential $APPS/wc.so in1.txt nope.txt
no_out "sequential missing input"

# --- plugins ---------------------------------------------------------------------
expect "worker missing plugin" 1 "cannot load plugin nope.so" -- $BIN/mrworker nope.so
echo "not an ELF file" > junk.so
expect "worker junk plugin" 1 "cannot load plugin junk.so" -- $BIN/mrworker junk.so
expect "worker plugin without Map" 1 "cannot find Map in $APPS/mr_nomap.so" -- \
    $BIN/mrworker $APPS/mr_nomap.so
expect "worker plugin without Reduce" 1 "cannot find Reduce in $APPS/mr_noreduce.so" -- \
    $BIN/mrworker $APPS/mr_noreduce.so
expect "sequential plugin without Reduce" 1 "cannot find Reduce in" -- \
    $BIN/mrsequential $APPS/mr_noreduce.so in1.txt
no_out "bad plugins"

# --- addresses ------------------------------------------------------------------
expect "worker with no coordinator" 1 "cannot reach the coordinator at 127.0.0.1:9" -- \
    $T $BIN/mrworker -a 127.0.0.1:9 -g 0.5 $APPS/wc.so
expect "worker with missing address file" 1 "address file missing" -- \
    $T $BIN/mrworker -f no-such-file -g 0.5 $APPS/wc.so
expect "coordinator bad address" 1 "cannot listen on nonsense" -- \
    $T $BIN/mrcoordinator -a nonsense in1.txt

# Address in use: a second coordinator on the first one's port / socket.
$T $BIN/mrcoordinator -a 127.0.0.1:0 -f addr1 in1.txt 2> coord1.err &
c1=$!
for _ in $(seq 50); do [ -s addr1 ] && break; sleep 0.1; done
if [ -s addr1 ]; then
    expect "coordinator tcp address in use" 1 "cannot listen on $(cat addr1): Address already in use" -- \
        $T $BIN/mrcoordinator -a "$(cat addr1)" in1.txt
else
    bad "first coordinator did not write its address file"
fi
kill $c1 2> /dev/null
wait $c1 2> /dev/null
[ -e addr1 ] && bad "coordinator left its address file after SIGTERM"

$T $BIN/mrcoordinator -a unix:c.sock in1.txt 2> coord2.err &
c2=$!
for _ in $(seq 50); do [ -S c.sock ] && break; sleep 0.1; done
expect "coordinator unix socket in use" 1 "already listening on unix:c.sock" -- \
    $T $BIN/mrcoordinator -a unix:c.sock in1.txt
kill $c2 2> /dev/null
wait $c2 2> /dev/null
[ -e c.sock ] && bad "coordinator left its unix socket after SIGTERM"
# A stale socket file (no listener) is replaced, as in 6.5840.
rm -f mr-*
python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.bind("c.sock")' 2> /dev/null || touch c.sock
$T $BIN/mrcoordinator -a unix:c.sock -r 2 in1.txt in2.txt &
c3=$!
sleep 0.5
$T $BIN/mrworker -a unix:c.sock $APPS/wc.so
wait $c3 && [ "$(cat mr-out-* | wc -l)" -gt 5 ] && ok "stale unix socket replaced" ||
    bad "stale unix socket not replaced"

# --- workers crashing mid-task -----------------------------------------------------
# mr_crashonce.so kills its worker in the middle of the first map and the
# first reduce, leaving partial temporaries; with a 1 s task timeout the
# job must still produce exactly the sequential output.
rm -f mr-* crashonce-*
$BIN/mrsequential $APPS/wc.so in1.txt in2.txt && sort mr-out-0 > correct.txt
rm -f mr-out-*
$T $BIN/mrcoordinator -a 127.0.0.1:0 -f addr3 -t 1 -r 3 in1.txt in2.txt 2> coord3.err &
c4=$!
for _ in $(seq 50); do [ -s addr3 ] && break; sleep 0.1; done
n=0
while [ -e addr3 ] && [ $n -lt 20 ]; do
    $T $BIN/mrworker -f addr3 $APPS/mr_crashonce.so 2> /dev/null
    n=$((n + 1))
done
if wait $c4 && sort mr-out-* | grep . | cmp -s - correct.txt; then
    [ -e crashonce-map ] && [ -e crashonce-reduce ] && ok "crashed workers recovered ($n workers)" ||
        bad "crash plugin never crashed"
else
    bad "job with crashing workers: wrong output or coordinator failed"
fi

# --- an input that disappears: task failures end the job with an error ------------
rm -f mr-* addr4
cp in1.txt vanish.txt
$T $BIN/mrcoordinator -a 127.0.0.1:0 -f addr4 vanish.txt 2> coord4.err &
c5=$!
for _ in $(seq 50); do [ -s addr4 ] && break; sleep 0.1; done
rm -f vanish.txt
for _ in 1 2 3; do
    $T $BIN/mrworker -f addr4 -g 1 $APPS/wc.so 2>> worker4.err
done
wait $c5
rc=$?
if [ $rc -ne 0 ] && grep -q "job failed: map task 0 failed 3 times: cannot read vanish.txt" coord4.err &&
    grep -q "map task 0 failed: cannot read vanish.txt" worker4.err; then
    ok "vanished input fails the job clearly"
else
    bad "vanished input: rc=$rc, coordinator said: $(head -c 300 coord4.err)"
fi
no_out "vanished input"

# --- a worker killed mid-task leaves no temporary behind ---------------------------
# Worker A is killed (SIGKILL) inside a slow Map, with its temporaries
# open; worker B, started afterwards on the same host, finishes the job.
rm -f mr-* addr5
$T $BIN/mrcoordinator -a 127.0.0.1:0 -f addr5 -t 1 -r 3 in1.txt in2.txt 2> coord5.err &
c6=$!
for _ in $(seq 50); do [ -s addr5 ] && break; sleep 0.1; done
MR_STRAGGLER_MAP_MS=20000 $BIN/mrworker -f addr5 $APPS/straggler.so 2> workerA.err &
wa=$!
for _ in $(seq 100); do ls mr-tmp-* > /dev/null 2>&1 && break; sleep 0.05; done
left=$(ls mr-tmp-* 2> /dev/null | wc -l)
kill -9 $wa
wait $wa 2> /dev/null
$T $BIN/mrworker -f addr5 -g 1 $APPS/wc.so 2> workerB.err
wait $c6
rc=$?
if [ "$left" -eq 0 ]; then
    bad "killed worker: it had no temporaries open when killed (test broken)"
elif [ $rc -ne 0 ] || [ "$(cat mr-out-* | wc -l)" -lt 5 ]; then
    bad "killed worker: job failed (rc=$rc): $(head -c 300 coord5.err)"
elif ls mr-tmp-* > /dev/null 2>&1; then
    bad "killed worker: its temporaries are left behind: $(ls mr-tmp-* | head -3 | tr '\n' ' ')"
else
    ok "killed worker's $left temporaries removed by the next worker"
fi

# --- outputs are durable: fsync before the rename, the directory after --------------
# fsync_spy.so (LD_PRELOAD) logs fsync (with the descriptor's path) and rename.
durable() { # durable NAME OUTPUT-PATH: the spy log shows the safe order
    awk -v out="$2" -v dir="$(dirname "$2")" '
        $1 == "fsync" && $2 ~ /\/mr-tmp-/ && !r { t[$2] = NR }
        $1 == "rename" && $3 == out && ($2 in t || ("'"$PWD"'/" $2) in t) { r = NR }
        $1 == "fsync" && $2 == dir && r { d = NR }
        END { exit !(r && d) }' spy.log && ok "$1" ||
        bad "$1: no fsync of the file before its rename and of the directory after: $(grep -c . spy.log 2> /dev/null) spy lines"
}
rm -f mr-* spy.log
MR_SPY_LOG=$PWD/spy.log LD_PRELOAD=$APPS/mr_fsync_spy.so $BIN/mrsequential $APPS/wc.so in1.txt in2.txt
durable "mrsequential output fsynced" "$PWD/mr-out-0"
rm -f mr-* spy.log addr6
$T $BIN/mrcoordinator -a 127.0.0.1:0 -f addr6 -r 1 in1.txt 2> coord6.err &
c7=$!
for _ in $(seq 50); do [ -s addr6 ] && break; sleep 0.1; done
MR_SPY_LOG=$PWD/spy.log LD_PRELOAD=$APPS/mr_fsync_spy.so $T $BIN/mrworker -f addr6 -g 1 $APPS/wc.so
wait $c7
durable "reduce output fsynced" "$PWD/mr-out-0"

echo "mr errors: $pass passed, $fail failed"
if [ $fail -eq 0 ]; then
    cd / && rm -rf "$TMPD"
else
    echo "files kept in $TMPD"
fi
[ $fail -eq 0 ]
