#!/usr/bin/env bash
# run.sh - `make bench-kv`: bench-kv against a local kvserver daemon cluster
# (on-disk persister; started and stopped here with kv-cluster.sh), then
# in process; then put latency on an empty store against one holding
# 16 MiB (daemons: kv_put_latency_growth=); then, when etcd-server and wrk
# are installed (installed here with apt-get if missing and root), the
# same workload against etcd (bench/kv/etcd.sh), whose last line,
# kv_daemon_vs_etcd=<our ops/s / etcd's>, is the last line printed.
#
#   bench/kv/run.sh [BIN_DIR]        (default build/release/bin)
#   BENCH_KV_SECONDS=3               duration of each throughput run
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$ROOT/build/release/bin}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
SECS=${BENCH_KV_SECONDS:-3}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-kv-XXXXXX")
export KV_DIR=$WORK/cluster KV_BIN=$BIN KV_N=3 KV_PORT=auto
trap '"$ROOT/test-scripts/kv-cluster.sh" stop >/dev/null 2>&1; rm -rf "$WORK"' EXIT

echo "== daemons: 3 kvserver processes on loopback, file-backed persister ($KV_DIR)"
if "$ROOT/test-scripts/kv-cluster.sh" start >/dev/null; then
    "$BIN/bench-kv" -s "$("$ROOT/test-scripts/kv-cluster.sh" addrs)" -d "$SECS" -n 500
    "$ROOT/test-scripts/kv-cluster.sh" stop >/dev/null
else
    echo "bench-kv: could not start the daemon cluster; skipping it"
fi
echo "== in process: 3 servers over loopback TCP, in-memory persisters"
"$BIN/bench-kv" -d "$SECS"
echo "== put latency growth: fresh daemon cluster, empty vs 16 MiB stored"
rm -rf "$KV_DIR"
if "$ROOT/test-scripts/kv-cluster.sh" start >/dev/null; then
    "$BIN/bench-kv" -g -s "$("$ROOT/test-scripts/kv-cluster.sh" addrs)"
    "$ROOT/test-scripts/kv-cluster.sh" stop >/dev/null
fi
echo "== against etcd"
"$ROOT/bench/kv/etcd.sh" "$BIN"
