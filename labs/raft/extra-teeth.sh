#!/bin/sh
# extra-teeth.sh - an extra suite (lab 3's, lab 4's) must catch its planted
# bugs: each planted-bug build fails its scenario test in >= MIN of RUNS runs.
#
#   extra-teeth.sh RUNS MIN BIN TEST [BIN TEST ...]
set -u
runs=$1 min=$2
shift 2
fail=0
while [ $# -ge 2 ]; do
    bin=$1 test=$2
    shift 2
    caught=0
    for r in $(seq 1 "$runs"); do
        if ! "$bin" --timeout 120 "$test" >/dev/null 2>&1; then
            caught=$((caught + 1))
        fi
    done
    echo "teeth: ${bin##*/} $test: caught in $caught of $runs runs (need $min)"
    [ "$caught" -ge "$min" ] || fail=1
done
exit $fail
