#!/usr/bin/env bash
# test-skv-daemons.sh - end-to-end test of the lab 5 daemons as real
# software (make test-skv-daemons, part of make test):
#
#   1. start a local deployment (skv-cluster.sh): 3 controllers and 3 groups
#      of 3 servers, each persisting to its own data directory; join 100;
#   2. put 20 keys spread over all shards, then run 3 skvcli clients that
#      append unique tokens to random keys, recording which were
#      acknowledged;
#   3. meanwhile reconfigure: join 101 and SIGKILL group 100's leader while
#      it is handing shards to 101, restart it; join 102, move shards
#      between live groups, leave 100 and SIGKILL 102's leader while it
#      waits for 100's shards, restart it (SIGSTOP on the other side of
#      each migration holds it open, so both kills land mid-migration);
#   4. read every key: every acknowledged append must be there exactly
#      once, an unacknowledged (timed-out) one at most once, nothing else;
#   5. send malformed requests to a group server: each may cost only its
#      own connection, the server must keep serving;
#   6. stop with SIGTERM: every daemon must exit cleanly.
#
#   test-skv-daemons.sh [BIN_DIR]      (default build/release/bin)
# Exit status 0 on success; the work directory is kept on failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/release/bin}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
for b in scserver skvserver skvcli; do
    [ -x "$BIN/$b" ] || { echo "test-skv-daemons: $BIN/$b not built" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/skv-daemons-XXXXXX")
export SKV_DIR=$WORK/cluster SKV_BIN=$BIN SKV_NCTL=3 SKV_NGROUPS=3 SKV_N=3
# Small snapshots, so restarts also exercise snapshot restore.
export SKV_MAXRAFTSTATE=20000
export SKV_PORT=auto
CLUSTER="$ROOT/test-scripts/skv-cluster.sh"
status=1
cleanup() {
    "$CLUSTER" stop >/dev/null 2>&1
    if [ $status -eq 0 ]; then rm -rf "$WORK"; else echo "test-skv-daemons: work directory kept: $WORK"; fi
}
trap cleanup EXIT
fail() { echo "--- FAIL: test-skv-daemons: $*"; exit 1; }
note() { printf '  %3ds %s\n' $((SECONDS - t0)) "$*"; }

echo "Test: shardkv daemons, leaders SIGKILLed during migrations ..."
t0=$SECONDS
"$CLUSTER" start >/dev/null || fail "cluster did not start"
note "12 daemons up"
CTRL=$("$CLUSTER" ctrlers)
declare -A GROUP # gid -> server addresses (asked once: spawning is slow under load)
for g in 100 101 102; do GROUP[$g]=$("$CLUSTER" group $g); done
cli() { "$BIN/skvcli" -C "$CTRL" -t 30000 "$@"; }
cli join 100 "${GROUP[100]}" || fail "join 100"

# --- 2. keys in every shard (the first byte picks the shard), then load --
KEYS=()
for d in 0 1 2 3 4 5 6 7 8 9; do KEYS+=("${d}a" "${d}b"); done
for k in "${KEYS[@]}"; do echo "put $k init$k."; done | cli batch >"$WORK/hist-init" ||
    fail "initial puts failed"
NPROC=3
NOPS=${SKV_DAEMON_OPS:-150}
pids=()
for p in $(seq 0 $((NPROC - 1))); do
    for j in $(seq 0 $((NOPS - 1))); do
        k=${KEYS[$((RANDOM % ${#KEYS[@]}))]}
        echo "append $k a${p}_${j}."
    done >"$WORK/ops$p"
    cli batch <"$WORK/ops$p" >"$WORK/hist$p" 2>"$WORK/cli$p.err" &
    pids+=($!)
done

# --- 3. reconfigure under load, crashing leaders mid-migration --------------
# Wait until group $1's leader reports shard states matching the regex $2
# (skvcli status prints them as 10 digits: 0 absent, 1 serving, 2 pulling,
# 3 sending).
wait_state() {
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        "$BIN/skvcli" status "${GROUP[$1]}" 2>/dev/null |
            grep ' up leader ' | grep -Eq "shards=$2\$" && return 0
        sleep 0.2
    done
    return 1
}
# SIGSTOP/SIGCONT a whole group: freezing one side of a migration holds the
# other side in it, so the SIGKILL below lands mid-migration for sure.
signal_group() {
    local i
    for ((i = 0; i < SKV_N; i++)); do kill "-$1" "$(cat "$SKV_DIR/$2-$i.pid")"; done
}
# SIGKILL group $1's leader, wait 1 s, restart it.
crash_leader() {
    local l
    l=$("$CLUSTER" leader "$1") || fail "no leader in group $1"
    "$CLUSTER" kill "$1-$l" || fail "could not kill $1-$l"
    note "SIGKILLed $1-$l"
    sleep 1
    "$CLUSTER" start-one "$1-$l" || fail "$1-$l did not restart"
    note "restarted $1-$l"
}
sleep 1
signal_group STOP 101
cli join 101 "${GROUP[101]}" >/dev/null || fail "join 101"
wait_state 100 '1111133333' || fail "group 100 did not start sending shards 5-9 to 101"
note "joined 101 (frozen): group 100 is sending it shards 5-9"
crash_leader 100
signal_group CONT 101
wait_state 100 '1111100000' || fail "group 100 did not finish handing shards 5-9 to 101"
note "group 100 handed shards 5-9 to 101"
cli join 102 "${GROUP[102]}" >/dev/null || fail "join 102"
cli move 0 101 >/dev/null || fail "move 0 101"
cli move 9 102 >/dev/null || fail "move 9 102"
note "joined 102, moved shard 0 to 101 and shard 9 to 102"
wait_state 100 '0[0-9]{9}' || fail "group 100 did not hand shard 0 to 101"
signal_group STOP 100
cli leave 100 >/dev/null || fail "leave 100"
wait_state 102 '.*2.*' || fail "group 102 did not start pulling shards from 100"
note "100 (frozen) left: group 102 is waiting for its shards"
crash_leader 102
signal_group CONT 100
wait_state 100 '0000000000' || fail "group 100 did not hand off its shards"
note "group 100 handed off all its shards"

rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
note "load done"
total=$(cat "$WORK"/hist? | wc -l)
[ "$total" -eq $((NPROC * NOPS)) ] || fail "only $total of $((NPROC * NOPS)) appends recorded"
unknown=$(cat "$WORK"/hist? | grep -c "	timeout	")
[ "$rc" -eq 0 ] || note "$unknown appends timed out (outcome unknown)"

# --- 4. every acknowledged write is there, exactly once -------------------------
for k in "${KEYS[@]}"; do echo "get $k"; done | cli batch >"$WORK/final" ||
    fail "final reads failed"
python3 - "$WORK/final" "$WORK"/hist? <<'EOF' || fail "acknowledged writes lost or duplicated"
import sys
final = {}
for line in open(sys.argv[1]):
    op, key, _, st, got = line.rstrip("\n").split("\t")
    final[key] = got
acked, maybe = {}, {}
for path in sys.argv[2:]:
    for line in open(path):
        op, key, val, st, _ = line.rstrip("\n").split("\t")
        (acked if st == "ok" else maybe).setdefault(key, set()).add(val)
bad = 0
for key, got in final.items():
    init = "init%s." % key
    if not got.startswith(init):
        print("key %s lost its initial put: %r" % (key, got[:80])); bad += 1
        continue
    toks = [t + "." for t in got[len(init):].split(".")[:-1]]
    if len(toks) != len(set(toks)):
        print("key %s: an append was applied twice" % key); bad += 1
    unknown = set(toks) - acked.get(key, set()) - maybe.get(key, set())
    if unknown:
        print("key %s: values nobody appended: %s" % (key, sorted(unknown)[:5])); bad += 1
    lost = acked.get(key, set()) - set(toks)
    if lost:
        print("key %s: acknowledged appends lost: %s" % (key, sorted(lost)[:5])); bad += 1
n = sum(len(v) for v in acked.values())
print("  checked %d keys, %d acknowledged appends" % (len(final), n))
sys.exit(1 if bad else 0)
EOF

# --- 5. malformed requests cost only their connection -------------------------
VADDR=${GROUP[101]%%,*}
VPORT=${VADDR##*:}
raw() { # send bytes (printf escapes); the reply, if any, to $WORK/reply
    : >"$WORK/reply"
    (exec 3<>"/dev/tcp/127.0.0.1/$VPORT" && printf "$1" >&3 &&
        timeout 1 cat <&3 >"$WORK/reply") 2>/dev/null
    true
}
raw '\xc1\xc1not msgpack at all\xff'                 # invalid type bytes
raw '\x94\x00\x01\xdb\x7f\xff\xff\xff'               # str32 claiming 2 GiB
raw '\xdf\xff\xff\xff\xff'                           # map32 of 4G pairs
raw '\x94\x00\x05\xacShardKV.Nope\x91\x80'           # unknown method
grep -q ENOMETHOD "$WORK/reply" || fail "unknown method not answered with ENOMETHOD"
raw '\x94\x00\x06\xafShardKV.Install\x91\x83\xa1g\x01\xa1n\x01\xa2sh\x91\x0b'  # shard 11
grep -q EBADARGS "$WORK/reply" || fail "Install of shard 11 not answered with EBADARGS"
head -c 65536 /dev/urandom >"$WORK/random.bin"
(exec 3<>"/dev/tcp/127.0.0.1/$VPORT" && cat "$WORK/random.bin" >&3) 2>/dev/null
sleep 0.3
"$BIN/skvcli" status "$VADDR" >/dev/null || fail "101-0 stopped serving after malformed input"
cli put after-garbage ok >/dev/null || fail "write after malformed input failed"
[ "$(cli get after-garbage)" = ok ] || fail "read after malformed input failed"
note "malformed requests: 101-0 still serving"

# --- 6. clean shutdown -------------------------------------------------------------
"$CLUSTER" stop >/dev/null
for log in "$SKV_DIR"/*.log; do
    grep -q "shutting down" "$log" || fail "$(basename "$log" .log) did not shut down cleanly (see $log)"
done
status=0
printf '  ... Passed --  %4d s  %d appends (%d unknown), 2 leaders killed mid-migration\n' \
    $((SECONDS - t0)) "$total" "$unknown"
