#!/usr/bin/env bash
# test-mr.sh - the lab 1 (MapReduce) graded tests: the seven tests of
# 6.5840's src/main/test-mr.sh (wc, indexer, map parallelism, reduce
# parallelism, job count, early exit, crash) with the same process
# choreography, time limits, pass conditions and output lines.
#
# Usage: test-scripts/test-mr.sh [quiet]
#   quiet        send every coordinator/worker's output to /dev/null
# Environment:
#   BUILD        build tree holding bin/ and apps/ (default build/release);
#                `make test-lab1` sets it. Binaries must already be built.
#   MR_NET       tcp (default) or unix. tcp: each coordinator listens on
#                127.0.0.1 port 0 (a free port, so parallel runs never
#                collide) and writes its address to the file coord-addr,
#                which workers read (mrworker -f). unix: the coordinator
#                listens on the unix socket coord.sock in the test dir.
#   MR_TMP       parent of the per-run test directory (default $BUILD);
#                each run works in a fresh mktemp dir mr-tmp.XXXXXX there,
#                removed if every test passed, kept (and named) otherwise.
#   MR_TESTS     run only these tests (words of: wc indexer mparallel
#                rparallel jobcount early crash); default all seven.
#   LAB_TIMELINE off: no timelines. Otherwise each test's processes (start,
#                pid, exit status or signal; test-scripts/mr-proc.sh) and
#                the files appearing in the test directory (polled,
#                test-scripts/mr-watch.py) are recorded, and a failed check
#                writes the HTML timeline of its test into the test
#                directory and names it: "timeline: PATH".
#   MR_INJECT_FAIL=NAME  test NAME (wc or crash) compares against a
#                reference with one extra line, so its check fails after a
#                real run (for testing the timeline, test-timeline.sh).
#
# Differences from the Go script, all deliberate:
# - The crash test's restart loops run while the coordinator's marker
#   exists, as in Go (there the unix socket /var/tmp/5840-mr-UID): here the
#   marker is coord-addr (tcp) or coord.sock (unix). The coordinator removes
#   it when it exits; the script removes it after the test in case a
#   coordinator was killed.
# - Inputs are not Project Gutenberg books but text generated
#   deterministically by mrgentext into $BUILD/mr-data (8 files, 3-4 MB,
#   pure ASCII, the same file names as 6.5840's). The tests compare with
#   mrsequential, so any text works.
# - Nothing is compiled here: the programs come from $BUILD.
set -u

ISQUIET=${1:-}
maybe_quiet() {
    if [ "$ISQUIET" == "quiet" ]; then
        "$@" > /dev/null 2>&1
    else
        "$@"
    fi
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build/release}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BIN=$BUILD/bin
APPS=$BUILD/apps
for f in "$BIN/mrcoordinator" "$BIN/mrworker" "$BIN/mrsequential" "$BIN/mrgentext"; do
    if [ ! -x "$f" ]; then
        echo "*** $f is missing; build first (make test-lab1 does)"
        exit 1
    fi
done
for a in wc indexer mtiming rtiming jobcount early_exit crash nocrash; do
    if [ ! -f "$APPS/$a.so" ]; then
        echo "*** $APPS/$a.so is missing; build first (make test-lab1 does)"
        exit 1
    fi
done

TIMEOUT=timeout
TIMEOUT2=""
if timeout 2s sleep 1 > /dev/null 2>&1; then
    :
else
    if gtimeout 2s sleep 1 > /dev/null 2>&1; then
        TIMEOUT=gtimeout
    else
        # no timeout command
        TIMEOUT=
        echo '*** Cannot find timeout command; proceeding without timeouts.'
    fi
fi
if [ "$TIMEOUT" != "" ]; then
    TIMEOUT2=$TIMEOUT
    TIMEOUT2+=" -k 2s 120s "
    TIMEOUT+=" -k 2s 45s "
fi

# Inputs: generated once per build tree (deterministic, so a concurrent
# generation writes identical files; each file is renamed into place).
DATA=$BUILD/mr-data
if ! ls "$DATA"/pg-*.txt > /dev/null 2>&1 || [ "$(ls "$DATA"/pg-*.txt | wc -l)" -ne 8 ]; then
    "$BIN/mrgentext" -q -o "$DATA" || exit 1
fi

# Coordinator address and the "coordinator is up" marker.
MR_NET=${MR_NET:-tcp}
case "$MR_NET" in
tcp)
    SOCKNAME=coord-addr
    CARGS="-a 127.0.0.1:0 -f $SOCKNAME"
    WARGS="-f $SOCKNAME"
    ;;
unix)
    SOCKNAME=coord.sock
    CARGS="-a unix:$SOCKNAME"
    WARGS="-a unix:$SOCKNAME"
    ;;
*) echo "*** MR_NET must be tcp or unix"; exit 1 ;;
esac
COORD="$BIN/mrcoordinator $CARGS"
WORKER="$BIN/mrworker $WARGS"
if [ "${LAB_TIMELINE:-}" != off ]; then
    COORD="$ROOT/test-scripts/mr-proc.sh coordinator $COORD"
    WORKER="$ROOT/test-scripts/mr-proc.sh worker $WORKER"
fi

# want NAME: is test NAME selected (MR_TESTS)?
want() { [ -z "${MR_TESTS:-}" ] || [[ " $MR_TESTS " == *" $1 "* ]]; }

# The timeline of each test (see LAB_TIMELINE above). tl_begin NAME at its
# start, tl_fail MESSAGE at a failed check (the first one per test writes
# the page), tl_end after its last process is gone.
tl_name=
tl_begin() {
    tl_name=$1
    tl_failed=
    [ "${LAB_TIMELINE:-}" != off ] || return 0
    # (absolute: processes and timeline.py run in the test directory)
    export MR_TIMELINE_EVENTS=$PWD/timeline-$1.events
    rm -rf "$MR_TIMELINE_EVENTS.slots"
    mkdir -p "$MR_TIMELINE_EVENTS.slots"
    echo "${EPOCHREALTIME/./} begin - $1 test" >"$MR_TIMELINE_EVENTS"
    # Not a child of this shell: the tests' bare `wait`s must not wait for it.
    (python3 "$ROOT/test-scripts/mr-watch.py" "$MR_TIMELINE_EVENTS" . $$ &
     echo $! >"$MR_TIMELINE_EVENTS.watch")
}
tl_fail() {
    [ -n "${MR_TIMELINE_EVENTS:-}" ] && [ -z "$tl_failed" ] || return 0
    tl_failed=1
    echo "${EPOCHREALTIME/./} fail - $*" >>"$MR_TIMELINE_EVENTS"
    local page=${MR_TIMELINE_EVENTS%.events}.html
    python3 "$ROOT/test-scripts/timeline.py" --mr "$MR_TIMELINE_EVENTS" \
        -o "$page" >/dev/null && echo "timeline: $page"
}
tl_end() {
    [ -n "${MR_TIMELINE_EVENTS:-}" ] || return 0
    kill "$(cat "$MR_TIMELINE_EVENTS.watch")" 2>/dev/null
    rm -rf "$MR_TIMELINE_EVENTS.slots" "$MR_TIMELINE_EVENTS.watch"
    [ -n "$tl_failed" ] || rm -f "$MR_TIMELINE_EVENTS"
    unset MR_TIMELINE_EVENTS
}
# inject_fail NAME FILE: see MR_INJECT_FAIL.
inject_fail() {
    if [ "${MR_INJECT_FAIL:-}" = "$1" ]; then echo "injected failure (MR_INJECT_FAIL)" >>"$2"; fi
}

# run the test in a fresh sub-directory.
PARENT=${MR_TMP:-$BUILD}
mkdir -p "$PARENT" || exit 1
TMPD=$(mktemp -d "$PARENT/mr-tmp.XXXXXX") || exit 1
cd "$TMPD" || exit 1
ln -s "$DATA" data || exit 1
rm -f mr-*
INPUTS=(data/pg*txt)

failed_any=0

#########################################################
if want wc; then
# first word-count

# generate the correct output
"$BIN/mrsequential" "$APPS/wc.so" "${INPUTS[@]}" || exit 1
sort mr-out-0 > mr-correct-wc.txt
inject_fail wc mr-correct-wc.txt
rm -f mr-out*

echo '***' Starting wc test.
tl_begin wc

maybe_quiet $TIMEOUT $COORD "${INPUTS[@]}" &
pid=$!

# give the coordinator time to create the sockets.
sleep 1

# start multiple workers.
(maybe_quiet $TIMEOUT $WORKER "$APPS/wc.so") &
(maybe_quiet $TIMEOUT $WORKER "$APPS/wc.so") &
(maybe_quiet $TIMEOUT $WORKER "$APPS/wc.so") &

# wait for the coordinator to exit.
wait $pid

# since workers are required to exit when a job is completely finished,
# and not before, that means the job has finished.
sort mr-out* | grep . > mr-wc-all
if cmp mr-wc-all mr-correct-wc.txt; then
    echo '---' wc test: PASS
else
    echo '---' wc output is not the same as mr-correct-wc.txt "(mrsequential's):" \
         a key missing or doubled, or a line not "key value" - are all nReduce \
         mr-out-Y written, each key reduced once with all its values, in the \
         directory the test runs in? "(compare mr-wc-all with mr-correct-wc.txt there)"
    echo '---' wc test: FAIL
    tl_fail wc output is not the same as mr-correct-wc.txt
    failed_any=1
fi

# wait for remaining workers and coordinator to exit.
wait

tl_end
fi

#########################################################
if want indexer; then
# now indexer
rm -f mr-*

# generate the correct output
"$BIN/mrsequential" "$APPS/indexer.so" "${INPUTS[@]}" || exit 1
sort mr-out-0 > mr-correct-indexer.txt
rm -f mr-out*

echo '***' Starting indexer test.
tl_begin indexer

maybe_quiet $TIMEOUT $COORD "${INPUTS[@]}" &
sleep 1

# start multiple workers
maybe_quiet $TIMEOUT $WORKER "$APPS/indexer.so" &
maybe_quiet $TIMEOUT $WORKER "$APPS/indexer.so"

sort mr-out* | grep . > mr-indexer-all
if cmp mr-indexer-all mr-correct-indexer.txt; then
    echo '---' indexer test: PASS
else
    echo '---' indexer output is not the same as mr-correct-indexer.txt \
         "(mrsequential's)": values of a key split between reduces or lost - is \
         every pair of key K sent to reduce "mr_ihash(K) % nReduce"?
    echo '---' indexer test: FAIL
    tl_fail indexer output is not the same as mr-correct-indexer.txt
    failed_any=1
fi

wait

tl_end
fi

#########################################################
if want mparallel; then
echo '***' Starting map parallelism test.
tl_begin mparallel

rm -f mr-*

maybe_quiet $TIMEOUT $COORD "${INPUTS[@]}" &
sleep 1

maybe_quiet $TIMEOUT $WORKER "$APPS/mtiming.so" &
maybe_quiet $TIMEOUT $WORKER "$APPS/mtiming.so"

NT=$(cat mr-out* | grep '^times-' | wc -l | sed 's/ //g')
if [ "$NT" != "2" ]; then
    echo '---' saw "$NT" workers running map tasks at the same time rather than 2: \
         the coordinator must hand a second idle map task to a second worker \
         without waiting for the first to finish
    echo '---' map parallelism test: FAIL
    tl_fail saw "$NT" workers rather than 2
    failed_any=1
fi

if cat mr-out* | grep '^parallel.* 2' > /dev/null; then
    echo '---' map parallelism test: PASS
else
    echo '---' map workers did not run in parallel "(their run times never overlapped)": \
         is a map task handed out only after the previous one finished?
    echo '---' map parallelism test: FAIL
    tl_fail map workers did not run in parallel
    failed_any=1
fi

wait

tl_end
fi

#########################################################
if want rparallel; then
echo '***' Starting reduce parallelism test.
tl_begin rparallel

rm -f mr-*

maybe_quiet $TIMEOUT $COORD "${INPUTS[@]}" &
sleep 1

maybe_quiet $TIMEOUT $WORKER "$APPS/rtiming.so" &
maybe_quiet $TIMEOUT $WORKER "$APPS/rtiming.so"

NT=$(cat mr-out* | grep '^[a-z] 2' | wc -l | sed 's/ //g')
if [ "$NT" -lt "2" ]; then
    echo '---' too few parallel reduces "($NT workers ran reduce tasks at once, need at least 2)": \
         is a reduce task handed out only after the previous one finished?
    echo '---' reduce parallelism test: FAIL
    tl_fail too few parallel reduces.
    failed_any=1
else
    echo '---' reduce parallelism test: PASS
fi

wait

tl_end
fi

#########################################################
if want jobcount; then
echo '***' Starting job count test.
tl_begin jobcount

rm -f mr-*

maybe_quiet $TIMEOUT $COORD "${INPUTS[@]}" &
sleep 1

maybe_quiet $TIMEOUT $WORKER "$APPS/jobcount.so" &
maybe_quiet $TIMEOUT $WORKER "$APPS/jobcount.so"
maybe_quiet $TIMEOUT $WORKER "$APPS/jobcount.so" &
maybe_quiet $TIMEOUT $WORKER "$APPS/jobcount.so"

NT=$(cat mr-out* | awk '{print $2}')
if [ "$NT" -eq "8" ] 2> /dev/null; then
    echo '---' job count test: PASS
else
    echo '---' map tasks ran "$NT times for 8 input files (each must run exactly once):" \
         a task re-issued before its 10-second timeout, or handed to two \
         workers at once
    echo '---' job count test: FAIL
    tl_fail map jobs ran incorrect number of times "($NT != 8)"
    failed_any=1
fi

wait

tl_end
fi

#########################################################
if want early; then
# test whether any worker or coordinator exits before the
# task has completed (i.e., all output files have been finalized)
rm -f mr-*

echo '***' Starting early exit test.
tl_begin early

DF=anydone$$
rm -f $DF

(maybe_quiet $TIMEOUT $COORD "${INPUTS[@]}"; touch $DF) &

# give the coordinator time to create the sockets.
sleep 1

# start multiple workers.
(maybe_quiet $TIMEOUT $WORKER "$APPS/early_exit.so"; touch $DF) &
(maybe_quiet $TIMEOUT $WORKER "$APPS/early_exit.so"; touch $DF) &
(maybe_quiet $TIMEOUT $WORKER "$APPS/early_exit.so"; touch $DF) &

# wait for any of the coord or workers to exit.
# `jobs` ensures that any completed old processes from other tests
# are not waited upon.
jobs &> /dev/null
if [[ "$OSTYPE" = "darwin"* ]]; then
    # bash on the Mac doesn't have wait -n
    while [ ! -e $DF ]; do
        sleep 0.2
    done
else
    # the -n causes wait to wait for just one child process,
    # rather than waiting for all to finish.
    wait -n
fi

rm -f $DF

# a process has exited. this means that the output should be finalized
# otherwise, either a worker or the coordinator exited early
sort mr-out* | grep . > mr-wc-all-initial

# wait for remaining workers and coordinator to exit.
wait

# compare initial and final outputs
sort mr-out* | grep . > mr-wc-all-final
if cmp mr-wc-all-final mr-wc-all-initial; then
    echo '---' early exit test: PASS
else
    echo '---' output changed after the first process exited: a worker or the \
         coordinator exited while tasks were still running - nobody may exit \
         before every mr-out-Y is final "(Done() only after every reduce reported)"
    echo '---' early exit test: FAIL
    tl_fail output changed after first worker exited
    failed_any=1
fi
rm -f mr-*

tl_end
fi

#########################################################
if want crash; then
echo '***' Starting crash test.
tl_begin crash

# generate the correct output
"$BIN/mrsequential" "$APPS/nocrash.so" "${INPUTS[@]}" || exit 1
sort mr-out-0 > mr-correct-crash.txt
inject_fail crash mr-correct-crash.txt
rm -f mr-out*

rm -f mr-done
( (maybe_quiet $TIMEOUT2 $COORD "${INPUTS[@]}"); touch mr-done ) &
sleep 1

# start multiple workers
maybe_quiet $TIMEOUT2 $WORKER "$APPS/crash.so" &

# $SOCKNAME exists while the coordinator runs (see the header).
( while [ -e $SOCKNAME -a ! -f mr-done ]; do
    maybe_quiet $TIMEOUT2 $WORKER "$APPS/crash.so"
    sleep 1
  done ) &

( while [ -e $SOCKNAME -a ! -f mr-done ]; do
    maybe_quiet $TIMEOUT2 $WORKER "$APPS/crash.so"
    sleep 1
  done ) &

while [ -e $SOCKNAME -a ! -f mr-done ]; do
    maybe_quiet $TIMEOUT2 $WORKER "$APPS/crash.so"
    sleep 1
done

wait

rm -f $SOCKNAME
sort mr-out* | grep . > mr-crash-all
if cmp mr-crash-all mr-correct-crash.txt; then
    echo '---' crash test: PASS
else
    echo '---' crash output is not the same as mr-correct-crash.txt "(mrsequential's):" \
         with workers crashing, a task of a dead worker must be handed out \
         again after 10 s, and a crashed task must leave no partial file - \
         outputs written under a temporary name and renamed when complete
    echo '---' crash test: FAIL
    tl_fail crash output is not the same as mr-correct-crash.txt
    failed_any=1
fi

tl_end
fi

#########################################################
if [ $failed_any -eq 0 ]; then
    cd / && { [ -n "${MR_KEEP_TMP:-}" ] || rm -rf "$TMPD"; }
    echo '*** PASSED ALL TESTS'
else
    echo "*** test files kept in $TMPD"
    echo '*** FAILED SOME TESTS'
    exit 1
fi
