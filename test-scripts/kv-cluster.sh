#!/usr/bin/env bash
# kv-cluster.sh - run a local kvserver cluster (lab 4 KV on Raft) on loopback.
#
#   kv-cluster.sh start            start N servers (default 3), wait until
#                                  all answer and one leads
#   kv-cluster.sh stop             SIGTERM every server, wait, SIGKILL stragglers
#   kv-cluster.sh status           one line per server (kvcli status)
#   kv-cluster.sh addrs            print the comma-separated server addresses
#   kv-cluster.sh leader           print the index of the current leader
#   kv-cluster.sh kill I           SIGKILL server I (a crash)
#   kv-cluster.sh start-one I      (re)start server I alone
#   kv-cluster.sh clean            stop, then delete the data directory
#
# Environment (read by `start`, remembered for the other commands):
#   KV_DIR           cluster directory: pids, logs, data  (/tmp/kv-cluster-$UID)
#   KV_N             number of servers                    (3)
#   KV_PORT          first port; servers use KV_PORT..KV_PORT+N-1  (7410;
#                    "auto": a random free range)
#   KV_HOST          address to bind                      (127.0.0.1)
#   KV_BIN           directory holding kvserver and kvcli (build/release/bin)
#   KV_MAXRAFTSTATE  snapshot threshold in bytes          (kvserver default)
#   KV_ARGS          extra kvserver options, e.g. "--cluster-key FILE"
#
# Example:
#   test-scripts/kv-cluster.sh start
#   build/release/bin/kvcli -s "$(test-scripts/kv-cluster.sh addrs)" put a 1
#   test-scripts/kv-cluster.sh stop
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KV_DIR=${KV_DIR:-/tmp/kv-cluster-$(id -u)}
STATE=$KV_DIR/cluster.env
CL_TAG=kv-cluster
# shellcheck source=cluster-lib.sh
. "$ROOT/test-scripts/cluster-lib.sh"

load_state() {
    [ -f "$STATE" ] || die "no cluster in $KV_DIR (run: $0 start)"
    # shellcheck disable=SC1090
    . "$STATE"
}

addr_of() { echo "$KV_HOST:$((KV_PORT + $1))"; }

all_addrs() {
    local i a=""
    for ((i = 0; i < KV_N; i++)); do a="$a${a:+,}$(addr_of "$i")"; done
    echo "$a"
}

pidfile() { echo "$KV_DIR/server$1.pid"; }
pid_of() { [ -f "$(pidfile "$1")" ] && cat "$(pidfile "$1")"; }
alive() { cl_alive "$(pidfile "$1")"; }

start_one() {
    local i=$1
    alive "$i" && die "server $i already running (pid $(pid_of "$i"))"
    mkdir -p "$KV_DIR/data$i"
    local args=(-i "$i" -p "$(all_addrs)" -d "$KV_DIR/data$i")
    [ -n "$KV_MAXRAFTSTATE" ] && args+=(-m "$KV_MAXRAFTSTATE")
    # shellcheck disable=SC2206
    [ -n "$KV_ARGS" ] && args+=($KV_ARGS)
    cl_spawn "$(pidfile "$i")" "$KV_DIR/server$i.log" "$KV_BIN/kvserver" "${args[@]}"
}

# Wait until server i answers Status (up to $2 seconds).
wait_up() {
    local i=$1 deadline=$((SECONDS + ${2:-10}))
    while ((SECONDS < deadline)); do
        alive "$i" || die "server $i exited; see $KV_DIR/server$i.log"
        "$KV_BIN/kvcli" -s "$(addr_of "$i")" status >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "server $i did not come up within ${2:-10}s; see $KV_DIR/server$i.log"
}

leader() {
    local deadline=$((SECONDS + ${1:-10})) line
    while ((SECONDS < deadline)); do
        line=$("$KV_BIN/kvcli" -s "$(all_addrs)" status 2>/dev/null | grep ' up leader ')
        if [ -n "$line" ]; then
            echo "$line" | head -1 | sed -E 's/.* me=([0-9]+) .*/\1/'
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop_all() {
    local i files=()
    for ((i = 0; i < KV_N; i++)); do files+=("$(pidfile "$i")"); done
    cl_stop "${files[@]}"
}

cmd=${1:-}
case "$cmd" in
start)
    KV_N=${KV_N:-3}
    KV_PORT=${KV_PORT:-7410}
    KV_HOST=${KV_HOST:-127.0.0.1}
    KV_BIN=${KV_BIN:-$ROOT/build/release/bin}
    KV_MAXRAFTSTATE=${KV_MAXRAFTSTATE:-}
    KV_ARGS=${KV_ARGS:-}
    case "$KV_BIN" in /*) ;; *) KV_BIN=$PWD/$KV_BIN ;; esac
    [ -x "$KV_BIN/kvserver" ] && [ -x "$KV_BIN/kvcli" ] ||
        die "kvserver/kvcli not found in $KV_BIN (build with make, or set KV_BIN)"
    mkdir -p "$KV_DIR" || die "cannot create $KV_DIR"
    if [ -f "$STATE" ]; then
        (
            . "$STATE"
            for ((i = 0; i < KV_N; i++)); do
                alive "$i" && die "a cluster is already running in $KV_DIR"
            done
            exit 0
        ) || exit 1
    fi
    # auto: a random free range (tests and benchmarks that may run next
    # to another cluster).
    if [ "$KV_PORT" = auto ]; then
        KV_PORT=$(cl_free_range "$KV_HOST" "$KV_N") || die "no free port range"
    fi
    for ((i = 0; i < KV_N; i++)); do
        cl_port_busy "$KV_HOST" $((KV_PORT + i)) && die "port $((KV_PORT + i)) is in use (set KV_PORT)"
    done
    cat >"$STATE" <<EOF
KV_N=$KV_N
KV_PORT=$KV_PORT
KV_HOST=$KV_HOST
KV_BIN=$KV_BIN
KV_MAXRAFTSTATE=$KV_MAXRAFTSTATE
KV_ARGS="$KV_ARGS"
EOF
    for ((i = 0; i < KV_N; i++)); do start_one "$i"; done
    for ((i = 0; i < KV_N; i++)); do wait_up "$i" 10; done
    l=$(leader 15) || die "no leader elected within 15s"
    echo "kv-cluster: $KV_N servers up at $(all_addrs) (leader $l), dir $KV_DIR"
    ;;
stop)
    load_state
    stop_all
    echo "kv-cluster: stopped"
    ;;
status)
    load_state
    for ((i = 0; i < KV_N; i++)); do
        if alive "$i"; then echo "server $i: pid $(pid_of "$i")"; else echo "server $i: not running"; fi
    done
    "$KV_BIN/kvcli" -s "$(all_addrs)" status
    ;;
addrs)
    load_state
    all_addrs
    ;;
leader)
    load_state
    leader "${2:-10}" || die "no leader"
    ;;
kill)
    load_state
    [ $# -eq 2 ] || die "usage: $0 kill I"
    alive "$2" || die "server $2 is not running"
    cl_crash "$(pidfile "$2")"
    ;;
start-one)
    load_state
    [ $# -eq 2 ] || die "usage: $0 start-one I"
    [[ "$2" =~ ^[0-9]+$ ]] && (($2 < KV_N)) || die "bad server index $2"
    start_one "$2"
    wait_up "$2" 10
    ;;
clean)
    if [ -f "$STATE" ]; then load_state; stop_all; fi
    rm -rf "$KV_DIR"
    ;;
*)
    cl_usage "$0" "$cmd"
    ;;
esac
