#!/usr/bin/env bash
# etcd.sh - our kvserver daemons against etcd, same machine, same run.
#
#   bench/kv/etcd.sh [BIN_DIR]      (default build/release/bin)
#   BENCH_KV_SECONDS=5              duration of each measurement
#   BENCH_KV_ROUNDS=3               rounds (ours, then etcd, alternating)
#
# Both sides: 3 nodes on loopback, fsync on (etcd always fsyncs its WAL;
# kvserver's file persister fsyncs before acknowledging), 16 concurrent
# clients, keys k0..k999, 50% put / 50% get of 16-byte values. Ours:
# bench-kv -s -q (16 clerks, each finding the leader). etcd (Debian's
# etcd-server 3.4): wrk, 16 connections to the leader, PUT and quorum GET
# over the v2 HTTP API (bench/kv/etcd.lua). Prints each round, then the
# medians and, last, kv_daemon_vs_etcd=<our median / etcd median>.
#
# Set-up: installs etcd-server and wrk with apt-get if they are missing
# (root only); without them it says so and exits 0.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/build/release/bin}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
SECS=${BENCH_KV_SECONDS:-5}
ROUNDS=${BENCH_KV_ROUNDS:-3}

if ! command -v etcd >/dev/null || ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== set-up: apt-get install etcd-server wrk"
        DEBIAN_FRONTEND=noninteractive apt-get install -y \
            --no-install-recommends etcd-server wrk >/dev/null 2>&1
    fi
fi
if ! command -v etcd >/dev/null || ! command -v wrk >/dev/null; then
    echo "etcd.sh: etcd-server or wrk not installed; no comparison"
    exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-etcd-XXXXXX")
ETCD_PIDS=()
stop_etcd() {
    for p in "${ETCD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${ETCD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    ETCD_PIDS=()
}
export KV_DIR=$WORK/cluster KV_BIN=$BIN KV_N=3 KV_PORT=auto
trap 'stop_etcd; "$ROOT/test-scripts/kv-cluster.sh" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT

# A free range of 6 ports (3 client, 3 peer).
BASE=$(( 20000 + (RANDOM % 20000) ))

start_etcd() {
    rm -rf "$WORK/etcd"
    local cluster="" i
    for i in 0 1 2; do
        cluster+="e$i=http://127.0.0.1:$((BASE + 3 + i)),"
    done
    cluster=${cluster%,}
    for i in 0 1 2; do
        etcd --name "e$i" --data-dir "$WORK/etcd/e$i" --enable-v2=true \
            --listen-client-urls "http://127.0.0.1:$((BASE + i))" \
            --advertise-client-urls "http://127.0.0.1:$((BASE + i))" \
            --listen-peer-urls "http://127.0.0.1:$((BASE + 3 + i))" \
            --initial-advertise-peer-urls "http://127.0.0.1:$((BASE + 3 + i))" \
            --initial-cluster "$cluster" --initial-cluster-state new \
            --log-level error >"$WORK/etcd-e$i.log" 2>&1 &
        ETCD_PIDS+=($!)
    done
    # Wait for a leader; print its client URL.
    local t
    for t in $(seq 1 100); do
        for i in 0 1 2; do
            if curl -sf "http://127.0.0.1:$((BASE + i))/v2/stats/self" \
                2>/dev/null | grep -q '"state":"StateLeader"'; then
                echo "http://127.0.0.1:$((BASE + i))"
                return 0
            fi
        done
        sleep 0.1
    done
    return 1
}

run_etcd() {
    local url
    url=$(start_etcd) || { echo "etcd.sh: etcd cluster did not start" >&2; stop_etcd; return 1; }
    local out rate
    out=$(wrk -t 2 -c 16 -d "${SECS}s" -s "$ROOT/bench/kv/etcd.lua" "$url")
    stop_etcd
    rate=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')
    if ! echo "$out" | grep -q "^errors 0$"; then
        echo "etcd.sh: etcd answered errors:" >&2
        echo "$out" >&2
        return 1
    fi
    echo "$rate"
}

run_ours() {
    rm -rf "$KV_DIR"
    "$ROOT/test-scripts/kv-cluster.sh" start >/dev/null || return 1
    local out
    out=$("$BIN/bench-kv" -q -s "$("$ROOT/test-scripts/kv-cluster.sh" addrs)" -d "$SECS")
    "$ROOT/test-scripts/kv-cluster.sh" stop >/dev/null
    echo "$out" | awk -F= '/^kv_ops_per_sec_16_/ {print $2}'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

OURS=() ETCD=()
for r in $(seq 1 "$ROUNDS"); do
    o=$(run_ours) || o=0
    e=$(run_etcd) || e=0
    echo "round $r: kvserver daemons ${o:-0} ops/s, etcd ${e:-0} requests/s"
    OURS+=("${o:-0}") ETCD+=("${e:-0}")
done
mo=$(median "${OURS[@]}")
me=$(median "${ETCD[@]}")
echo "median: kvserver daemons $mo ops/s, etcd $me requests/s (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v o="$mo" -v e="$me" 'BEGIN { printf "kv_daemon_vs_etcd=%.2f\n", (e > 0 ? o / e : 0) }'
