#!/usr/bin/env bash
# run-demo.sh - `make run`: a MapReduce word count with one coordinator and
# three workers over loopback TCP.
#
# Inputs: $BUILD/mr-data/pg-*.txt (8 generated English-like text files,
# made by mrgentext when absent). Outputs: $BUILD/mr-run/mr-out-0..9 (the
# directory is recreated on every run). Prints the ten most frequent words
# and the elapsed time.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build/release}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BIN=$BUILD/bin
DATA=$BUILD/mr-data
RUN=$BUILD/mr-run

if ! ls "$DATA"/pg-*.txt > /dev/null 2>&1; then
    "$BIN/mrgentext" -o "$DATA" || exit 1
fi
rm -rf "$RUN" && mkdir -p "$RUN" && cd "$RUN" || exit 1
ln -s "$DATA" data
inputs=(data/pg-*.txt)
bytes=$(cat "${inputs[@]}" | wc -c)

start=$(date +%s.%N)
# Port 0: the coordinator picks a free port and writes it to coord-addr.
timeout -k 2s 120s "$BIN/mrcoordinator" -v -a 127.0.0.1:0 -f coord-addr "${inputs[@]}" &
coord=$!
for _ in $(seq 100); do [ -s coord-addr ] && break; sleep 0.05; done
if [ ! -s coord-addr ]; then
    echo "run: the coordinator did not start" >&2
    kill $coord 2> /dev/null
    exit 1
fi
echo "run: coordinator at $(cat coord-addr); starting 3 workers"
for _ in 1 2 3; do
    timeout -k 2s 120s "$BIN/mrworker" -f coord-addr "$BUILD/apps/wc.so" &
done
wait $coord
status=$?
wait
end=$(date +%s.%N)
if [ $status -ne 0 ]; then
    echo "run: the coordinator failed (status $status)" >&2
    exit 1
fi

echo
echo "Top 10 words:"
sort -k2,2nr -k1,1 mr-out-* | head -10 | awk '{printf "  %-10s %8d\n", $1, $2}'
echo
awk -v s="$start" -v e="$end" -v b="$bytes" -v n="${#inputs[@]}" 'BEGIN {
    printf "word count of %d files (%.1f MB) took %.2f s (including the coordinator'"'"'s 1 s linger)\n", n, b / 1048576, e - s }'
echo "outputs: $RUN/mr-out-0 .. mr-out-9   (inputs: $DATA)"
