#!/usr/bin/env bash
# bench-mr.sh - MapReduce word-count throughput, three ways, in one run:
#   1. mrsequential wc.so (the single-process reference),
#   2. mrcoordinator + 2 mrworker processes (wc.so, 10 reduce tasks),
#   3. LC_ALL=C tr -cs 'A-Za-z' '\n' | sort | uniq -c (coreutils baseline).
# Prints MB/s for each, the peak RSS of every process (workers report
# theirs with mrworker -v; the others via /usr/bin/time when present), the
# largest input split, and a last line mr_speedup=<sequential s / mr s>.
# The distributed output is checked against the sequential one.
#
# Environment: BUILD (default build/release), MR_BENCH_MB (corpus size,
# default 128), MR_BENCH_FILES (number of input files = map tasks, default
# 16), MR_BENCH_KEEP=1 keeps the outputs. The corpus is generated once into
# $BUILD/mr-bench-data (deterministic, seed 1).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build/release}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
BIN=$BUILD/bin
WC=$BUILD/apps/wc.so
MB=${MR_BENCH_MB:-128}
NF=${MR_BENCH_FILES:-16}
DATA=$BUILD/mr-bench-data/${MB}mb-${NF}

if [ "$(ls "$DATA"/pg-bench-*.txt 2> /dev/null | wc -l)" -ne "$NF" ]; then
    echo "bench-mr: generating a ${MB} MiB corpus in $DATA ..."
    rm -rf "$DATA"
    "$BIN/mrgentext" -q -s 1 -n "$NF" -T "$MB" -p pg-bench -o "$DATA" || exit 1
fi
W=$(mktemp -d "$BUILD/mr-bench.XXXXXX") || exit 1
trap 'cd /; [ -n "${MR_BENCH_KEEP:-}" ] || rm -rf "$W"' EXIT
cd "$W" || exit 1
ln -s "$DATA" data
inputs=(data/pg-bench-*.txt)
bytes=$(cat "${inputs[@]}" | wc -c)
split=$(ls -l "$DATA"/ | awk 'NR>1 && $5>m {m=$5} END {print m}')
cat "${inputs[@]}" > /dev/null # warm the page cache for every contestant
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "bench-mr: corpus ${#inputs[@]} files, $mb MB; $(nproc) cores; $(uptime | sed 's/.*load/load/')"

now() { date +%s.%N; }
# /usr/bin/time (when present) gives each process's CPU time and peak RSS:
# on a shared machine the CPU seconds are the steadier figure.
HAVE_TIME=""
/usr/bin/time -f '%M' true > /dev/null 2>&1 && HAVE_TIME=1
tv() { # tv NAME: command prefix recording NAME.tv = "wall user sys maxrss_kb"
    if [ -n "$HAVE_TIME" ]; then echo "/usr/bin/time -o $1.tv -f %e_%U_%S_%M"; fi
}
cpu_of() { # cpu_of FILE...: summed user+sys seconds
    if [ -z "$HAVE_TIME" ]; then echo "n/a"; return; fi
    cat "$@" | tr '_' ' ' | awk '{ c += $2 + $3 } END { printf "%.2f s", c }'
}
rss_of() { # rss_of FILE: peak RSS
    if [ -z "$HAVE_TIME" ]; then echo "n/a"; return; fi
    tr '_' ' ' < "$1" | awk '{ printf "%.1f MB", $4 / 1024 }'
}
report() { # name seconds cpu rss
    awk -v n="$1" -v s="$2" -v b="$bytes" -v c="$3" -v r="$4" 'BEGIN {
        printf "%-31s %7.2f s %7.1f MB/s   cpu %-9s peak RSS %s\n", n, s, b / 1048576 / s, c, r }'
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }

# 1. sequential
mkdir seq && cd seq && ln -s ../data data
t0=$(now)
$(tv seq) "$BIN/mrsequential" "$WC" "${inputs[@]}" || exit 1
t1=$(now)
seq_s=$(secs "$t0" "$t1")
report "mrsequential wc" "$seq_s" "$(cpu_of seq.tv)" "$(rss_of seq.tv)"
cd ..

# 2. coordinator + 2 workers. No linger (-l 0): the clock stops when the
# coordinator has seen every output final and exits.
mkdir dist && cd dist && ln -s ../data data
t0=$(now)
$(tv coord) "$BIN/mrcoordinator" -l 0 -a 127.0.0.1:0 -f coord-addr "${inputs[@]}" &
coord=$!
$(tv w1) "$BIN/mrworker" -v -g 0.5 -f coord-addr "$WC" 2> w1.txt &
w1=$!
$(tv w2) "$BIN/mrworker" -v -g 0.5 -f coord-addr "$WC" 2> w2.txt &
w2=$!
wait $coord || { echo "bench-mr: the coordinator failed"; exit 1; }
t1=$(now)
wait $w1 $w2
mr_s=$(secs "$t0" "$t1")
tvs=""
[ -n "$HAVE_TIME" ] && tvs="coord.tv w1.tv w2.tv"
report "mrcoordinator + 2 mrworker wc" "$mr_s" "$(cpu_of $tvs)" "coordinator $(rss_of coord.tv)"
for f in w1 w2; do
    sed -n 's/^mrworker: \(.*\) tasks done, peak RSS \([0-9]*\) KB/\1 \2/p' $f.txt |
        awk '{ printf "    worker: %s maps, %s reduces, peak RSS %.1f MB\n", $1, $4, $6 / 1024 }'
done
part=$(ls -l mr-[0-9]*-[0-9]* 2> /dev/null | awk '{ p = $NF; sub(/^mr-[0-9]*-/, "", p); t[p] += $5 }
    END { for (k in t) if (t[k] > m) m = t[k]; printf "%.1f", m / 1048576 }')
awk -v s="$split" -v p="$part" 'BEGIN {
    printf "    (largest input split %.1f MB; largest reduce partition %.1f MB)\n", s / 1048576, p }'
sort mr-out-* > ../dist.sorted
cd ..
sort seq/mr-out-0 > seq.sorted
if ! cmp -s seq.sorted dist.sorted; then
    echo "bench-mr: ERROR: distributed output differs from mrsequential"
    exit 1
fi

# 3. coreutils
t0=$(now)
$(tv cu) sh -c "cat ${inputs[*]} | LC_ALL=C tr -cs 'A-Za-z' '\n' | LC_ALL=C sort | uniq -c > coreutils.out"
t1=$(now)
cu_s=$(secs "$t0" "$t1")
report "LC_ALL=C tr | sort | uniq -c" "$cu_s" "$(cpu_of cu.tv)" "n/a"
# Same counts as mapreduce? (uniq -c may count one empty line.)
awk '$2 != "" { print $2, $1 }' coreutils.out | LC_ALL=C sort > cu.sorted
LC_ALL=C sort seq.sorted | cmp -s - cu.sorted || echo "bench-mr: note: coreutils counts differ from mrsequential"

echo "bench-mr: load average after: $(uptime | sed 's/.*average: //')"
awk -v a="$seq_s" -v b="$mr_s" -v c="$cu_s" 'BEGIN {
    printf "mr vs coreutils: %.2fx\n", c / b
    printf "mr_speedup=%.2f\n", a / b }'
