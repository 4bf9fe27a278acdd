#!/usr/bin/env bash
# skv-cluster.sh - run a local sharded KV deployment (lab 5) on loopback:
# a shard controller cluster (scserver) plus several replica groups
# (skvserver), each process persisting to its own data directory.
#
#   skv-cluster.sh start           start every controller and group server,
#                                  wait until each answers (groups are not
#                                  joined: use join-all or skvcli join)
#   skv-cluster.sh join-all        join every group to the controller
#   skv-cluster.sh stop            SIGTERM every server, wait, SIGKILL stragglers
#   skv-cluster.sh status          pids, the latest configuration and each
#                                  group server's state
#   skv-cluster.sh ctrlers         print the controllers' addresses (for -C)
#   skv-cluster.sh gids            print the group ids
#   skv-cluster.sh group GID       print a group's server addresses
#   skv-cluster.sh leader GID      print the index of GID's current leader
#   skv-cluster.sh kill NAME       SIGKILL one server (a crash); NAME is
#                                  ctl<I> or <GID>-<I>, e.g. ctl0, 101-2
#   skv-cluster.sh start-one NAME  (re)start one server
#   skv-cluster.sh clean           stop, then delete the cluster directory
#
# Environment (read by `start`, remembered for the other commands):
#   SKV_DIR      cluster directory: pids, logs, data  (/tmp/skv-cluster-$UID)
#   SKV_NCTL     controller replicas                  (3)
#   SKV_NGROUPS  replica groups, gids 100, 101, ...   (3)
#   SKV_N        servers per group                    (3)
#   SKV_PORT     first port: controllers, then group servers  (7510;
#                "auto": a random free range)
#   SKV_HOST     address to bind                      (127.0.0.1)
#   SKV_BIN      directory holding scserver, skvserver, skvcli
#                                                     (build/release/bin)
#   SKV_MAXRAFTSTATE  group snapshot threshold in bytes (skvserver default)
#
# Example:
#   test-scripts/skv-cluster.sh start && test-scripts/skv-cluster.sh join-all
#   build/release/bin/skvcli -C "$(test-scripts/skv-cluster.sh ctrlers)" put a 1
#   test-scripts/skv-cluster.sh stop
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SKV_DIR=${SKV_DIR:-/tmp/skv-cluster-$(id -u)}
STATE=$SKV_DIR/cluster.env
CL_TAG=skv-cluster
CL_STOP_S=15
# shellcheck source=cluster-lib.sh
. "$ROOT/test-scripts/cluster-lib.sh"

load_state() {
    [ -f "$STATE" ] || die "no cluster in $SKV_DIR (run: $0 start)"
    # shellcheck disable=SC1090
    . "$STATE"
}

gids() { local j; for ((j = 0; j < SKV_NGROUPS; j++)); do echo $((100 + j)); done; }
all_names() {
    local i g
    for ((i = 0; i < SKV_NCTL; i++)); do echo "ctl$i"; done
    for g in $(gids); do for ((i = 0; i < SKV_N; i++)); do echo "$g-$i"; done; done
}
valid_name() { all_names | grep -qx -- "$1"; }

# Port of a server: controllers first, then the groups in gid order.
port_of() {
    case "$1" in
    ctl*) echo $((SKV_PORT + ${1#ctl})) ;;
    *) local g=${1%-*} i=${1#*-}
       echo $((SKV_PORT + SKV_NCTL + (g - 100) * SKV_N + i)) ;;
    esac
}
addr_of() { echo "$SKV_HOST:$(port_of "$1")"; }
join_addrs() { local n a=""; for n in "$@"; do a="$a${a:+,}$(addr_of "$n")"; done; echo "$a"; }
ctrlers() { local i n=(); for ((i = 0; i < SKV_NCTL; i++)); do n+=("ctl$i"); done; join_addrs "${n[@]}"; }
group() { local i n=(); for ((i = 0; i < SKV_N; i++)); do n+=("$1-$i"); done; join_addrs "${n[@]}"; }

pid_of() { [ -f "$SKV_DIR/$1.pid" ] && cat "$SKV_DIR/$1.pid"; }
alive() { cl_alive "$SKV_DIR/$1.pid"; }

start_one() {
    local name=$1 args
    alive "$name" && die "$name already running (pid $(pid_of "$name"))"
    mkdir -p "$SKV_DIR/$name.data"
    case "$name" in
    ctl*) args=("$SKV_BIN/scserver" -i "${name#ctl}" -p "$(ctrlers)") ;;
    *) args=("$SKV_BIN/skvserver" -g "${name%-*}" -i "${name#*-}"
             -p "$(group "${name%-*}")" -c "$(ctrlers)")
       [ -n "$SKV_MAXRAFTSTATE" ] && args+=(-m "$SKV_MAXRAFTSTATE") ;;
    esac
    cl_spawn "$SKV_DIR/$name.pid" "$SKV_DIR/$name.log" "${args[@]}" -d "$SKV_DIR/$name.data"
}

# Wait until a server accepts connections (group servers: answers Status).
wait_up() {
    local name=$1 deadline=$((SECONDS + ${2:-10}))
    while ((SECONDS < deadline)); do
        alive "$name" || die "$name exited; see $SKV_DIR/$name.log"
        case "$name" in
        ctl*) cl_port_busy "$SKV_HOST" "$(port_of "$name")" && return 0 ;;
        *) "$SKV_BIN/skvcli" status "$(addr_of "$name")" >/dev/null 2>&1 && return 0 ;;
        esac
        sleep 0.1
    done
    die "$name did not come up within ${2:-10}s; see $SKV_DIR/$name.log"
}

leader() {
    local deadline=$((SECONDS + ${2:-10})) line
    while ((SECONDS < deadline)); do
        line=$("$SKV_BIN/skvcli" status "$(group "$1")" 2>/dev/null | grep ' up leader ')
        if [ -n "$line" ]; then
            echo "$line" | head -1 | sed -E 's/.* me=([0-9]+) .*/\1/'
            return 0
        fi
        sleep 0.1
    done
    return 1
}

stop_all() {
    local name files=()
    for name in $(all_names); do files+=("$SKV_DIR/$name.pid"); done
    cl_stop "${files[@]}"
}

cmd=${1:-}
case "$cmd" in
start)
    SKV_NCTL=${SKV_NCTL:-3}
    SKV_NGROUPS=${SKV_NGROUPS:-3}
    SKV_N=${SKV_N:-3}
    SKV_PORT=${SKV_PORT:-7510}
    SKV_HOST=${SKV_HOST:-127.0.0.1}
    SKV_BIN=${SKV_BIN:-$ROOT/build/release/bin}
    SKV_MAXRAFTSTATE=${SKV_MAXRAFTSTATE:-}
    case "$SKV_BIN" in /*) ;; *) SKV_BIN=$PWD/$SKV_BIN ;; esac
    for b in scserver skvserver skvcli; do
        [ -x "$SKV_BIN/$b" ] || die "$b not found in $SKV_BIN (build with make, or set SKV_BIN)"
    done
    mkdir -p "$SKV_DIR" || die "cannot create $SKV_DIR"
    if [ -f "$STATE" ]; then
        (
            . "$STATE"
            for name in $(all_names); do
                alive "$name" && die "a cluster is already running in $SKV_DIR"
            done
            exit 0
        ) || exit 1
    fi
    # auto: a random free range (tests that may run next to another
    # deployment).
    if [ "$SKV_PORT" = auto ]; then
        SKV_PORT=$(cl_free_range "$SKV_HOST" $((SKV_NCTL + SKV_NGROUPS * SKV_N))) ||
            die "no free port range"
    fi
    for name in $(all_names); do
        cl_port_busy "$SKV_HOST" "$(port_of "$name")" && die "port $(port_of "$name") is in use (set SKV_PORT)"
    done
    cat >"$STATE" <<EOF
SKV_NCTL=$SKV_NCTL
SKV_NGROUPS=$SKV_NGROUPS
SKV_N=$SKV_N
SKV_PORT=$SKV_PORT
SKV_HOST=$SKV_HOST
SKV_BIN=$SKV_BIN
SKV_MAXRAFTSTATE=$SKV_MAXRAFTSTATE
EOF
    for name in $(all_names); do start_one "$name"; done
    for name in $(all_names); do wait_up "$name" 10; done
    "$SKV_BIN/skvcli" -C "$(ctrlers)" -t 15000 query >/dev/null ||
        die "the controllers elected no leader within 15s"
    echo "skv-cluster: $SKV_NCTL controllers at $(ctrlers), groups $(gids | tr '\n' ' ')of $SKV_N; dir $SKV_DIR"
    ;;
join-all)
    load_state
    args=()
    for g in $(gids); do args+=("$g" "$(group "$g")"); done
    "$SKV_BIN/skvcli" -C "$(ctrlers)" join "${args[@]}"
    ;;
stop)
    load_state
    stop_all
    echo "skv-cluster: stopped"
    ;;
status)
    load_state
    for name in $(all_names); do
        if alive "$name"; then echo "$name: pid $(pid_of "$name")"; else echo "$name: not running"; fi
    done
    "$SKV_BIN/skvcli" -C "$(ctrlers)" -t 3000 query
    for g in $(gids); do "$SKV_BIN/skvcli" status "$(group "$g")"; done
    ;;
ctrlers) load_state; ctrlers ;;
gids) load_state; gids ;;
group)
    load_state
    [ $# -eq 2 ] && gids | grep -qx -- "$2" || die "usage: $0 group GID"
    group "$2"
    ;;
leader)
    load_state
    [ $# -ge 2 ] && gids | grep -qx -- "$2" || die "usage: $0 leader GID [TIMEOUT_S]"
    leader "$2" "${3:-10}" || die "no leader in group $2"
    ;;
kill)
    load_state
    [ $# -eq 2 ] && valid_name "$2" || die "usage: $0 kill NAME (ctl<I> or <GID>-<I>)"
    alive "$2" || die "$2 is not running"
    cl_crash "$SKV_DIR/$2.pid"
    ;;
start-one)
    load_state
    [ $# -eq 2 ] && valid_name "$2" || die "usage: $0 start-one NAME (ctl<I> or <GID>-<I>)"
    start_one "$2"
    wait_up "$2" 10
    ;;
clean)
    if [ -f "$STATE" ]; then load_state; stop_all; fi
    rm -rf "$SKV_DIR"
    ;;
*)
    cl_usage "$0" "$cmd"
    ;;
esac
