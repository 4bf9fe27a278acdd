#!/usr/bin/env bash
# test-mr-many.sh - run test-mr.sh N times in a row (6.5840's
# test-mr-many.sh): each trial under `timeout -k 2s 900s`, stop at the first
# failing trial. Extra arguments (e.g. quiet) go to test-mr.sh; BUILD,
# MR_NET and MR_TMP pass through the environment.
#   test-scripts/test-mr-many.sh N [quiet]
if [ $# -lt 1 ] || ! [ "$1" -ge 1 ] 2> /dev/null; then
    echo "Usage: $0 numTrials [quiet]"
    exit 1
fi

trap 'kill -INT -$pid 2> /dev/null; exit 1' INT

# Each trial works in its own temporary directory and (with the default
# MR_NET=tcp) on free ports, so unlike the Go original these trials could
# even run in parallel; they run one at a time here.
here=$(dirname "$0")
runs=$1
shift
for i in $(seq 1 "$runs"); do
    timeout -k 2s 900s "$here/test-mr.sh" "$@" &
    pid=$!
    if ! wait $pid; then
        echo '***' FAILED TESTS IN TRIAL "$i"
        exit 1
    fi
done
echo '***' PASSED ALL "$runs" TESTING TRIALS
