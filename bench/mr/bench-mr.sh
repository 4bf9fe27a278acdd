#!/usr/bin/env bash
# bench-mr.sh - MapReduce word-count throughput, four ways, in one run:
#   1. mrsequential wc.so (the single-process reference),
#   2. mrcoordinator + 2 mrworker processes (wc.so, 10 reduce tasks),
#   3. LC_ALL=C tr -cs 'A-Za-z' '\n' | sort | uniq -c (coreutils baseline),
#   4. distributed mode (mrcoordinator -D, 2 mrworker -D in directories of
#      their own, 4 reduce tasks, default 64 MiB reduce memory budget),
# then the straggler case: 24 map tasks of 200 ms on 3 workers, the first
# execution of the last one 10x slower, with and without backup tasks.
# Prints MB/s for each, the peak RSS of every process (workers report
# theirs with mrworker -v; the others via /usr/bin/time when present), the
# largest input split, the reduce tasks' peak RSS against their budget, and
# the lines mr_speedup=<sequential s / mr s> and
# mr_backup_gain=<straggler job s without backups / with backups>.
# Every MapReduce output is checked against the sequential one.
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

# 4. distributed mode: nothing shared but the network.
mkdir ddist && cd ddist
t0=$(now)
$(tv coord) "$BIN/mrcoordinator" -D -v -l 0 -r 4 -a 127.0.0.1:0 -f coord-addr "${inputs[@]/#/$W/}" 2> coord.txt &
coord=$!
for i in 1 2; do
    $(tv w$i) "$BIN/mrworker" -v -g 0.5 -D w$i -o out -f coord-addr "$WC" 2> w$i.txt &
    eval "w$i=\$!"
done
wait $coord || { echo "bench-mr: the distributed coordinator failed"; cat coord.txt; exit 1; }
t1=$(now)
wait $w1 $w2
dd_s=$(secs "$t0" "$t1")
tvs=""
[ -n "$HAVE_TIME" ] && tvs="coord.tv w1.tv w2.tv"
report "distributed -D + 2 workers wc" "$dd_s" "$(cpu_of $tvs)" "coordinator $(rss_of coord.tv)"
sed -n 's/.*: \([0-9]*\) map tasks (splits).*/    \1 map tasks (64 MiB splits)/p' coord.txt
cat w*.txt | sed -n 's/.*reduce task [0-9]*: \([0-9]*\) records, \([0-9]*\) sorted runs, budget \([0-9]*\) KB, peak RSS \([0-9]*\) KB/\1 \2 \3 \4/p' |
    awk '{ r += $1; s += $2; b = $3; if ($4 > m) m = $4 }
        END { printf "    reduce peak RSS %.1f MB against a budget of %.1f MB (%d records, %d sorted runs)\n", m / 1024, b / 1024, r, s }'
part=$(ls -l w*/mr-[0-9]*-[0-9]* 2> /dev/null | awk '{ p = $NF; sub(/^.*mr-[0-9]*-/, "", p); t[p] += $5 }
    END { for (k in t) if (t[k] > m) m = t[k]; printf "%.1f", m / 1048576 }')
echo "    largest reduce partition $part MB"
sort out/mr-out-* > ../ddist.sorted
cd ..
cmp -s seq.sorted ddist.sorted || { echo "bench-mr: ERROR: distributed-mode output differs from mrsequential"; exit 1; }

# 5. a straggler: with and without backup tasks.
mkdir strag && cd strag
"$BIN/mrgentext" -q -s 7 -n 24 -m 4 -M 8 -p pg-strag -o in || exit 1
sin=(in/pg-strag-*.txt)
"$BIN/mrsequential" -o seq.txt "$WC" "${sin[@]}" && sort seq.txt > seq.sorted
strag_job() { # strag_job NAME COORD-ARGS...: job seconds as the coordinator saw them
    local name=$1
    shift
    mkdir "$name"
    "$BIN/mrcoordinator" -D -v -l 0.2 -r 3 -a 127.0.0.1:0 -f "$name/addr" "$@" "${sin[@]}" 2> "$name/coord.txt" &
    local c=$! ws=""
    for i in 1 2 3; do
        MR_STRAGGLER_MAP_MS=200 MR_STRAGGLER_DIR="$PWD/$name" MR_STRAGGLER_FILE="$(basename "${sin[23]}")" \
            "$BIN/mrworker" -g 0.5 -D "$name/w$i" -o "$name/out" -f "$name/addr" "$BUILD/apps/straggler.so" 2> /dev/null &
        ws="$ws $!"
    done
    wait $c || { echo "bench-mr: straggler job $name failed" >&2; return 1; }
    # shellcheck disable=SC2086
    wait $ws
    sort "$name"/out/mr-out-* | cmp -s - seq.sorted || { echo "bench-mr: ERROR: straggler job $name output differs" >&2; return 1; }
    sed -n 's/.*job done in \([0-9.]*\) s.*/\1/p' "$name/coord.txt"
}
with_s=$(strag_job backup) || exit 1
without_s=$(strag_job nobackup -b 0) || exit 1
echo "straggler (24 x 200 ms maps, one 10x): with backup tasks $with_s s, without $without_s s"
cd ..

echo "bench-mr: load average after: $(uptime | sed 's/.*average: //')"
awk -v a="$seq_s" -v b="$mr_s" -v c="$cu_s" -v d="$dd_s" -v sw="$with_s" -v so="$without_s" 'BEGIN {
    printf "mr vs coreutils: %.2fx\n", c / b
    printf "distributed vs shared-directory mode: %.2fx\n", b / d
    printf "mr_speedup=%.2f\n", a / b
    printf "mr_backup_gain=%.2f\n", so / sw }'
