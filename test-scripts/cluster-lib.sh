# cluster-lib.sh - what the local-cluster launchers (kv-cluster.sh,
# skv-cluster.sh) share: background servers tracked by pid files, free
# port ranges on loopback, and a clean stop. Sourced, not run; bash.
#
# Callers set CL_TAG (the prefix of error messages) before sourcing.

die() { echo "$CL_TAG: $*" >&2; exit 1; }

# Is the process in pid file $1 running?
cl_alive() {
    local p
    [ -f "$1" ] && p=$(cat "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# Does something accept connections on host $1, port $2?
cl_port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# A base port with $2 free ports on host $1 after it: a random range below
# Linux's ephemeral ports (32768-60999), where other programs' outgoing
# connections could take a port between this check and the servers' bind.
cl_free_range() {
    local host=$1 n=$2 base p
    for _ in $(seq 1 50); do
        base=$((10000 + RANDOM % 20000))
        for ((p = base; p < base + n; p++)); do
            cl_port_busy "$host" "$p" && continue 2
        done
        echo "$base"
        return 0
    done
    return 1
}

# Start "$@" in the background, detached, appending to log $2; its pid
# goes to pid file $1.
cl_spawn() {
    local pidfile=$1 log=$2
    shift 2
    nohup "$@" >>"$log" 2>&1 &
    echo $! >"$pidfile"
    disown $! 2>/dev/null || true
}

# SIGKILL the server of pid file $1 (a crash) and wait until it is gone.
cl_crash() {
    kill -KILL "$(cat "$1")"
    while cl_alive "$1"; do sleep 0.05; done
    rm -f "$1"
}

# SIGTERM the servers of the pid files "$@" at once, give each $CL_STOP_S
# seconds (default 10) to exit, SIGKILL stragglers, remove the pid files.
cl_stop() {
    local f p deadline
    for f in "$@"; do cl_alive "$f" && kill -TERM "$(cat "$f")" 2>/dev/null; done
    for f in "$@"; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        deadline=$((SECONDS + ${CL_STOP_S:-10}))
        while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            echo "$CL_TAG: $(basename "$f" .pid) (pid $p) ignored SIGTERM; killing" >&2
            kill -KILL "$p" 2>/dev/null
        fi
        rm -f "$f"
    done
}

# Print the comment block at the top of script $1 (its usage) and exit:
# 0 for -h/--help ($2), else 2.
cl_usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$1"
    case "${2:-}" in -h | --help) exit 0 ;; esac
    exit 2
}
