#!/usr/bin/env bash
# test-hostile.sh - hostile clients and operator mistakes against real
# kvserver daemons (issue 13's findings, one check each):
#
#   F1  a second daemon on a live data directory exits at once, naming the
#       holder's pid, and the first keeps serving
#   F2  with a 256-descriptor limit, 400 idle connections neither abort the
#       daemon nor stop a write (which opens files); the soft limit is
#       raised to the hard one; "Too many open files" is not logged in a
#       loop
#   F3  forged RequestVote (term 2^60) / AppendEntries: refused (EAUTH,
#       logged) on a --cluster-key cluster, which keeps its leader; on an
#       open cluster the term does not jump and a leader is still elected
#   F4  1,100 idle connections do not lock a client out (answered < 1 s);
#       idle and 1-byte-per-second connections are closed by the timeouts
#   F5  4 x 60 MiB partial messages keep the daemon under its buffer
#       budget (RSS <= budget + 64 MiB) and answering
#   F6  3,000 pipelined Gets on one connection: <= 64 threads, the same
#       leader in the same term after the burst, at most 1% ErrWrongLeader
#   F10 a stopped (SIGSTOP) follower for 5 s: the leader's thread count
#       grows by at most 8, writes commit, the leader stays
#   F7  a snapshot or Raft state that does not decode (valid checksum) is fatal at start,
#       with a message, instead of serving without the data
#   F8  kvcli batch carries spaces and 10 KiB values intact and refuses a
#       bad line before sending anything
#   F9  errors keep their cause: port in use (and no data directory made),
#       -d naming a file, duplicate peers, port 0 for this server
#   H   every program answers --help (exit 0) and --version
#   C   all at once: 2,000 idle connections, a 1 byte/s sender and 4 x 60
#       MiB partial messages: the daemon answers kvcli within 1 s, stays
#       under its budget and does not abort
#
#   test-hostile.sh [BIN_DIR]    (default build/release/bin)
#
# Needs python3 with msgpack (test-scripts/hostile.py). Options the daemon
# does not know (an older build) are left out, so every check also runs -
# and fails - against da07c00's binaries. Exit 0 if every check passed;
# the work directory is kept on failure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/release/bin}
case "$BIN" in /*) ;; *) BIN=$PWD/$BIN ;; esac
TOOLS=${HOSTILE_TOOLS:-$BIN}   # persist-edit (from this tree)
for b in "$BIN/kvserver" "$BIN/kvcli" "$TOOLS/persist-edit"; do
    [ -x "$b" ] || { echo "test-hostile: $b not built" >&2; exit 2; }
done
# Debian's python3 (python3-msgpack, see deps.sh) before any other on PATH.
PY=python3
/usr/bin/python3 -c 'import msgpack' 2>/dev/null && PY=/usr/bin/python3
$PY -c 'import msgpack' 2>/dev/null || { echo "test-hostile: needs python3-msgpack" >&2; exit 2; }
H="$PY $ROOT/test-scripts/hostile.py"
CLUSTER="$ROOT/test-scripts/kv-cluster.sh"
. "$ROOT/test-scripts/cluster-lib.sh"
CL_TAG=test-hostile

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hostile-XXXXXX")
failed=()
bgpids=()
cleanup() {
    for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null; done
    for d in "$WORK"/c-*; do [ -d "$d" ] && KV_DIR=$d "$CLUSTER" stop >/dev/null 2>&1; done
    for f in "$WORK"/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
    if [ ${#failed[@]} -eq 0 ]; then rm -rf "$WORK"; else echo "test-hostile: work directory kept: $WORK"; fi
}
trap cleanup EXIT
pass() { echo "  ok   $*"; }
bad() { echo "--- FAIL: $*"; failed+=("$1"); }
t0=$SECONDS

# New options only where the binary has them (see the top comment).
HELP=$("$BIN/kvserver" --help 2>&1)
has() { grep -q -- "$1" <<<"$HELP"; }
ADM=""
has --idle-timeout && ADM="--idle-timeout 3 --read-timeout 4 --max-buffered 128"

free_port() { cl_free_range 127.0.0.1 1; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
threads() { ls "/proc/$1/task" 2>/dev/null | wc -l; }
pid_of() { cat "$KV_DIR/server$1.pid"; }
addr_of() { echo "$ADDRS" | cut -d, -f$(($1 + 1)); }
ms_now() { date +%s%3N; }
# Time (ms) of `kvcli status` against one server; "fail" if it failed.
status_ms() {
    local t=$(ms_now)
    "$BIN/kvcli" -s "$1" -t 3000 status >/dev/null 2>&1 || { echo fail; return; }
    echo $(($(ms_now) - t))
}
alive() { kill -0 "$1" 2>/dev/null; }
# Best of 3: on the loaded 2-core development VM (load average 15-20) a
# plain `kvcli status` with no attack at all took up to 1.6 s now and
# then; a locked-out client fails all three.
best_status_ms() {
    local best=fail m
    for _ in 1 2 3; do
        m=$(status_ms "$1")
        [ "$m" != fail ] && { [ "$best" = fail ] || ((m < best)); } && best=$m
    done
    echo "$best"
}
# Until hostile.py idle has all its connections open (file $1).
wait_opened() {
    local i
    for i in $(seq 1 100); do grep -q opened "$1" 2>/dev/null && return; sleep 0.1; done
}
term_of() { "$BIN/kvcli" -s "$ADDRS" status 2>/dev/null | sed -nE 's/.* term=([0-9]+) .*/\1/p' | sort -n | tail -1; }

start_cluster() { # NAME [extra kvserver args]
    export KV_DIR=$WORK/c-$1 KV_BIN=$BIN KV_N=3 KV_PORT=auto KV_ARGS="${2:-}"
    "$CLUSTER" start >"$WORK/$1.start" 2>&1 || { cat "$WORK/$1.start"; return 1; }
    ADDRS=$("$CLUSTER" addrs)
}

echo "Test: hostile clients and operator mistakes (kvserver daemons) ..."

# --- every program answers --help (exit 0, on stdout) and --version ---------------
nohelp=""
for p in "$BIN"/*; do
    [ -x "$p" ] && [ -f "$p" ] || continue
    out=$(timeout 5 "$p" --help 2>/dev/null </dev/null) && [ -n "$out" ] || nohelp="$nohelp $(basename "$p"):help"
    timeout 5 "$p" --version 2>/dev/null </dev/null | grep -q "^$(basename "$p") " || nohelp="$nohelp $(basename "$p"):version"
done
[ -z "$nohelp" ] && pass "every program in $(basename "$BIN") answers --help and --version" ||
    bad help "no --help/--version:$nohelp"
start_cluster main "$ADM" || { bad setup "cluster did not start"; exit 1; }
LEADER=$("$CLUSTER" leader)
FOLLOWER=$(((LEADER + 1) % 3))

# --- F1: second daemon on the same data directory ---------------------------
P=$(free_port)
timeout 5 "$BIN/kvserver" -i 0 -p "$ADDRS" -d "$KV_DIR/data0" -l "127.0.0.1:$P" >"$WORK/f1.out" 2>&1
rc=$?
for i in $(seq 1 10); do "$BIN/kvcli" -s "$ADDRS" -t 5000 put f1 "v$i" >/dev/null 2>&1; done
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "in use" "$WORK/f1.out" &&
   grep -q "pid $(pid_of 0)" "$WORK/f1.out" && alive "$(pid_of 0)" &&
   [ "$("$BIN/kvcli" -s "$ADDRS" get f1 2>/dev/null)" = v10 ]; then
    pass "F1 second daemon refused: $(head -1 "$WORK/f1.out")"
else
    bad F1 "second daemon on data0: rc=$rc, '$(head -c 200 "$WORK/f1.out")', first alive: $(alive "$(pid_of 0)" && echo yes || echo no)"
fi

# --- F9: errors keep their cause ------------------------------------------------
P0=$(echo "$ADDRS" | cut -d, -f1)
timeout 5 "$BIN/kvserver" -i 0 -p "$P0" -d "$WORK/f9-dir" >"$WORK/f9a.out" 2>&1
if grep -q "Address already in use" "$WORK/f9a.out" && [ ! -e "$WORK/f9-dir" ]; then
    pass "F9 port in use: $(head -1 "$WORK/f9a.out")"
else
    bad F9a "port in use: '$(head -c 200 "$WORK/f9a.out")', data dir created: $([ -e "$WORK/f9-dir" ] && echo yes || echo no)"
fi
touch "$WORK/afile"
P=$(free_port)
timeout 5 "$BIN/kvserver" -i 0 -p "127.0.0.1:$P" -d "$WORK/afile" >"$WORK/f9b.out" 2>&1
grep -q "Not a directory" "$WORK/f9b.out" && pass "F9 -d file: $(head -1 "$WORK/f9b.out")" ||
    bad F9b "-d naming a file: '$(head -c 200 "$WORK/f9b.out")'"
timeout 5 "$BIN/kvserver" -i 0 -p "127.0.0.1:$P,127.0.0.1:$P,127.0.0.1:$((P + 1))" -d "$WORK/f9c" >"$WORK/f9c.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q duplicate "$WORK/f9c.out" && pass "F9 duplicate peers: $(head -1 "$WORK/f9c.out")" ||
    bad F9c "duplicate peer list: rc=$rc '$(head -c 200 "$WORK/f9c.out")'"
timeout 5 "$BIN/kvserver" -i 0 -p "127.0.0.1:0,127.0.0.1:$P" -d "$WORK/f9d" >"$WORK/f9d.out" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "port 0" "$WORK/f9d.out" && pass "F9 port 0: $(head -1 "$WORK/f9d.out")" ||
    bad F9d "port 0 for this server: rc=$rc '$(head -c 200 "$WORK/f9d.out")'"

# --- F8: kvcli batch keeps data intact ---------------------------------------------
big=$(head -c 7600 /dev/urandom | base64 -w0)   # ~10 KiB
{
    printf 'put "k 1" "hello world"\n'
    printf 'put big %s\n' "$big"
    printf 'put esc "a\\tb\\\\c\\"d\\x01"\n'
} >"$WORK/f8.ops"
"$BIN/kvcli" -s "$ADDRS" batch <"$WORK/f8.ops" >"$WORK/f8.out" 2>&1
g1=$("$BIN/kvcli" -s "$ADDRS" get "k 1" 2>/dev/null)
g2=$("$BIN/kvcli" -s "$ADDRS" get big 2>/dev/null)
g3=$("$BIN/kvcli" -s "$ADDRS" get esc 2>/dev/null | od -An -c | tr -s ' ')
printf 'put f8-never sent\nput broken "unterminated\n' | "$BIN/kvcli" -s "$ADDRS" batch >"$WORK/f8b.out" 2>&1
rc=$?
g4=$("$BIN/kvcli" -s "$ADDRS" get f8-never 2>/dev/null)
if [ "$g1" = "hello world" ] && [ "$g2" = "$big" ] && [ "$g3" = " a \t b \\ c \" d 001 \n" ] &&
   [ $rc -eq 2 ] && [ -z "$g4" ]; then
    pass "F8 batch: spaces, ${#big}-byte value, escapes intact; bad input refused before sending"
else
    bad F8 "batch: 'k 1'='$g1', big ${#g2}/${#big} bytes, esc='$g3', bad-input rc=$rc, f8-never='$g4'"
fi

# --- F6: pipelined burst on one connection ------------------------------------------
LADDR=$(addr_of "$LEADER")
LPID=$(pid_of "$LEADER")
term0=$(term_of)
$H pipeline "$LADDR" 3000 >"$WORK/f6.out" 2>&1 &
hp=$!
bgpids+=($hp)
maxt=0
while alive $hp; do
    t=$(threads "$LPID"); ((t > maxt)) && maxt=$t
    sleep 0.05
done
wait $hp
l_after=$("$CLUSTER" leader 5)
term1=$(term_of)
wrong=$(sed -nE 's/.*ErrWrongLeader=([0-9]+).*/\1/p' "$WORK/f6.out")
# The leader must keep its leadership: same leader and the same term (a
# re-election of the same node is a lost leadership too). On 6d722b9 the
# term moved in about 1 run in 3 on a loaded VM, with a thread per blocked
# call; with the driver's one sender per peer (issue 12) it holds.
if ((maxt <= 64)) && [ "$l_after" = "$LEADER" ] && [ -n "$term0" ] && [ "$term0" = "$term1" ] \
    && ((${wrong:-0} <= 30)); then
    pass "F6 3000 pipelined Gets: max $maxt threads, leader $LEADER kept (term $term0 -> $term1); $(cat "$WORK/f6.out")"
else
    bad F6 "3000 pipelined Gets: max $maxt threads, leader $LEADER -> ${l_after:-none}, term $term0 -> $term1; $(cat "$WORK/f6.out")"
fi

# --- F10: a frozen follower ------------------------------------------------------------
# A stopped process accepts connections (the kernel does) but never
# answers: every heartbeat to it stays outstanding until its timeout.
# One blocked thread per outstanding call grew the leader by ~10 threads
# a second; the driver's asynchronous calls keep it flat.
FPID=$(pid_of "$FOLLOWER")
t_before=$(threads "$LPID")
kill -STOP "$FPID"
maxt=0
for i in $(seq 1 50); do
    t=$(threads "$LPID"); ((t > maxt)) && maxt=$t
    sleep 0.1
done
"$BIN/kvcli" -s "$ADDRS" -t 5000 put f10 frozen >/dev/null 2>&1
put_rc=$?
kill -CONT "$FPID"
l_after=$("$CLUSTER" leader 5)
if ((maxt <= t_before + 8)) && ((put_rc == 0)) && [ "$l_after" = "$LEADER" ]; then
    pass "F10 follower stopped 5 s: leader threads $t_before -> max $maxt, a write committed, leader $LEADER kept"
else
    bad F10 "follower stopped 5 s: leader threads $t_before -> max $maxt (allowed +8), write rc=$put_rc, leader $LEADER -> ${l_after:-none}"
fi

# --- F4: idle connections and a slow sender ------------------------------------------
FADDR=$(addr_of "$FOLLOWER")
FPID=$(pid_of "$FOLLOWER")
$H idle "$FADDR" 1100 9 >"$WORK/f4.idle" 2>&1 &
bgpids+=($!)
ip=$!
$H trickle "$FADDR" 12 >"$WORK/f4.trickle" 2>&1 &
bgpids+=($!)
tp=$!
wait_opened "$WORK/f4.idle"
ms=$(best_status_ms "$FADDR")
wait $ip; wait $tp
closed=$(sed -nE 's/closed-by-server ([0-9]+)/\1/p' "$WORK/f4.idle")
trick=$(cat "$WORK/f4.trickle")
if [ "$ms" != fail ] && ((ms < 1000)) && [ -n "$closed" ] && ((closed >= 1000)) &&
   [[ "$trick" == closed* ]] && alive "$FPID"; then
    pass "F4 1100 idle: client answered in ${ms} ms, $closed idle closed by the server; 1 byte/s sender $trick s"
else
    bad F4 "1100 idle: client ${ms} ms, idle closed by server: ${closed:-?} ($(head -1 "$WORK/f4.idle")), trickle: $trick"
fi

# --- F5: partial messages against the memory budget ---------------------------------
rss0=$(rss_kb "$FPID")
$H partial "$FADDR" 4 60 5 >"$WORK/f5.out" 2>&1 &
pp=$!
bgpids+=($pp)
maxrss=0
while alive $pp; do
    r=$(rss_kb "$FPID"); ((r > maxrss)) && maxrss=$r
    sleep 0.1
done
wait $pp
ms=$(best_status_ms "$FADDR")
limit=$(((128 + 64) * 1024))
if alive "$FPID" && ((maxrss <= limit)) && [ "$ms" != fail ] && ((ms < 1000)); then
    pass "F5 4 x 60 MiB partial: RSS $((rss0 / 1024)) -> max $((maxrss / 1024)) MiB (budget 128 + 64), $(tail -1 "$WORK/f5.out"), client ${ms} ms"
else
    bad F5 "4 x 60 MiB partial: RSS max $((maxrss / 1024)) MiB (limit $((limit / 1024))), client ${ms} ms, alive: $(alive "$FPID" && echo yes || echo no)"
fi

# --- C: everything at once ----------------------------------------------------------
rss0=$(rss_kb "$FPID")
$H idle "$FADDR" 2000 10 >"$WORK/c.idle" 2>&1 &
bgpids+=($!)
$H trickle "$FADDR" 10 >"$WORK/c.trickle" 2>&1 &
bgpids+=($!)
$H partial "$FADDR" 4 60 6 >"$WORK/c.partial" 2>&1 &
cp=$!
bgpids+=($cp)
maxrss=0
worst=0 n=0 slow=0
wait_opened "$WORK/c.idle"
while alive $cp; do
    r=$(rss_kb "$FPID"); ((r > maxrss)) && maxrss=$r
    ms=$(status_ms "$FADDR")
    n=$((n + 1))
    if [ "$ms" = fail ]; then worst=fail; slow=$((slow + 1))
    else
        ((ms >= 1000)) && slow=$((slow + 1))
        [ "$worst" != fail ] && ((ms > worst)) && worst=$ms
    fi
    sleep 0.3
done
wait
# Every probe answered, at most 1 in 5 over 1 s (machine load, see
# best_status_ms), RSS within the budget.
if alive "$FPID" && ((maxrss <= limit)) && [ "$worst" != fail ] && ((n > 0 && slow * 5 <= n)); then
    pass "C  2000 idle + 1 byte/s + 4 x 60 MiB: $n probes, $slow over 1 s, slowest ${worst} ms, RSS max $((maxrss / 1024)) MiB, no abort"
else
    bad C "combined attack: $n probes, $slow over 1 s or failed, slowest ${worst} ms, RSS max $((maxrss / 1024)) MiB, alive: $(alive "$FPID" && echo yes || echo no)"
fi
"$BIN/kvcli" -s "$ADDRS" put after-attacks ok >/dev/null 2>&1 || bad C "cluster write after the attacks failed"

# --- F7: a snapshot that does not decode ---------------------------------------------
"$CLUSTER" kill 2 >/dev/null 2>&1
cp -a "$KV_DIR/data2" "$WORK/data2.orig"
head -c 300 /dev/urandom >"$WORK/garbage.snap"
"$TOOLS/persist-edit" "$KV_DIR/data2" snapshot "$WORK/garbage.snap" || bad F7 "persist-edit failed"
timeout 6 "$BIN/kvserver" -i 2 -p "$ADDRS" -d "$KV_DIR/data2" $ADM >"$WORK/f7.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "snapshot" "$WORK/f7.out" && grep -q "data2" "$WORK/f7.out"; then
    pass "F7 corrupt snapshot fatal: $(grep snapshot "$WORK/f7.out" | tail -1)"
else
    bad F7 "undecodable snapshot: rc=$rc (124: still serving after 6 s), '$(head -c 300 "$WORK/f7.out")'"
fi
# The same for Raft's own state: checksums pass, the blob does not decode.
# (Before: "persisted state is corrupt" with no file named, then abort.)
rm -rf "$KV_DIR/data2" && cp -a "$WORK/data2.orig" "$KV_DIR/data2"
"$TOOLS/persist-edit" "$KV_DIR/data2" state "$WORK/garbage.snap" || bad F7 "persist-edit state failed"
timeout 6 "$BIN/kvserver" -i 2 -p "$ADDRS" -d "$KV_DIR/data2" $ADM >"$WORK/f7s.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "Raft state" "$WORK/f7s.out" && grep -q "data2" "$WORK/f7s.out"; then
    pass "F7 corrupt Raft state fatal: $(grep "Raft state" "$WORK/f7s.out" | tail -1)"
else
    bad F7 "undecodable Raft state: rc=$rc (124: still serving after 6 s; 134: abort), '$(head -c 300 "$WORK/f7s.out")'"
fi
rm -rf "$KV_DIR/data2" && mv "$WORK/data2.orig" "$KV_DIR/data2"
"$CLUSTER" start-one 2 >/dev/null 2>&1 || bad F7 "server 2 did not restart on its own data"

# --- F3 (open cluster): forged huge term -----------------------------------------------
for i in 0 1 2; do $H vote "$(addr_of $i)" $((1 << 60)) >>"$WORK/f3open.out" 2>&1; done
sleep 2
t=$(term_of)
if [ -n "$t" ] && ((t < 1000000)) && "$CLUSTER" leader 10 >/dev/null &&
   "$BIN/kvcli" -s "$ADDRS" -t 10000 put f3 ok >/dev/null 2>&1; then
    pass "F3 open cluster: forged term 2^60 ignored (term $t), leader elected, writes work"
else
    bad F3open "forged term 2^60 on an open cluster: term now ${t:-?}, replies $(tr '\n' ' ' <"$WORK/f3open.out")"
fi

"$CLUSTER" stop >/dev/null 2>&1

# --- F2: descriptor exhaustion -----------------------------------------------------
P=$(free_port)
F2DIR=$WORK/f2
( ulimit -n 256 && exec "$BIN/kvserver" -i 0 -p "127.0.0.1:$P" -d "$F2DIR" $ADM ) >"$WORK/f2.log" 2>&1 &
echo $! >"$WORK/f2.pid"
F2PID=$!
for _ in $(seq 1 50); do "$BIN/kvcli" -s "127.0.0.1:$P" -t 1000 status >/dev/null 2>&1 && break; sleep 0.1; done
$H idle "127.0.0.1:$P" 400 6 >"$WORK/f2.idle" 2>&1 &
bgpids+=($!)
ip=$!
sleep 2
put_ok=no
"$BIN/kvcli" -s "127.0.0.1:$P" -t 4000 put f2 v >/dev/null 2>&1 && put_ok=yes
wait $ip
sleep 0.5
emfile=$(grep -c "Too many open files" "$WORK/f2.log")
if alive "$F2PID" && [ $put_ok = yes ] && ((emfile <= 3)); then
    pass "F2 256 fds, 400 idle connections: write ok, no abort, $emfile EMFILE log lines"
else
    bad F2 "256 fds, 400 idle: write $put_ok, alive: $(alive "$F2PID" && echo yes || echo no), $emfile EMFILE log lines"
fi
kill "$F2PID" 2>/dev/null; wait "$F2PID" 2>/dev/null
P=$(free_port)
( ulimit -Sn 256 && exec "$BIN/kvserver" -i 0 -p "127.0.0.1:$P" -d "$WORK/f2b" ) >"$WORK/f2b.log" 2>&1 &
F2PID=$!
echo $F2PID >"$WORK/f2b.pid"
for _ in $(seq 1 50); do "$BIN/kvcli" -s "127.0.0.1:$P" -t 1000 status >/dev/null 2>&1 && break; sleep 0.1; done
soft=$(awk '/Max open files/ {print $4}' "/proc/$F2PID/limits")
hard=$(awk '/Max open files/ {print $5}' "/proc/$F2PID/limits")
[ "$soft" = "$hard" ] && pass "F2 soft fd limit 256 raised to the hard limit $hard" ||
    bad F2b "soft fd limit $soft not raised to the hard limit $hard"
kill "$F2PID" 2>/dev/null; wait "$F2PID" 2>/dev/null

# --- F3 (keyed cluster): unauthenticated Raft RPCs --------------------------------------
if has --cluster-key; then
    head -c 32 /dev/urandom >"$WORK/cluster.key"
    chmod 600 "$WORK/cluster.key"
    KEYARGS="--cluster-key $WORK/cluster.key"
else
    KEYARGS=""
fi
if start_cluster keyed "$KEYARGS"; then
    L=$("$CLUSTER" leader)
    t1=$(term_of)
    for i in 0 1 2; do
        $H vote "$(addr_of $i)" $((1 << 59)) >>"$WORK/f3.out" 2>&1
        $H append "$(addr_of $i)" "$t1" >>"$WORK/f3.out" 2>&1
    done
    sleep 1.5
    L2=$("$CLUSTER" leader 10)
    t2=$(term_of)
    n_eauth=$(grep -c EAUTH "$WORK/f3.out")
    logged=$(cat "$KV_DIR"/server*.log | grep -c "rejected Raft")
    # The forged term (2^59) must not be adopted and the leader must stay.
    # The term itself may move by an ordinary election or two when the
    # machine is loaded (fsync stalls under parallel stress runs); the
    # EAUTH replies and log lines show the forged messages never ran.
    if ((n_eauth == 6)) && ((logged >= 3)) && [ "$L2" = "$L" ] &&
       [ -n "$t2" ] && ((t2 < 1000000)) &&
       "$BIN/kvcli" -s "$ADDRS" -t 10000 put f3k ok >/dev/null 2>&1; then
        pass "F3 keyed cluster: 6 forged Raft RPCs refused (EAUTH, $logged log lines), leader $L kept (term $t1 -> $t2)"
    else
        bad F3 "keyed cluster: replies $(tr '\n' ' ' <"$WORK/f3.out"), $logged log lines, leader $L -> ${L2:-none}, term $t1 -> ${t2:-?}"
    fi
    "$CLUSTER" stop >/dev/null 2>&1
else
    bad F3 "keyed cluster did not start"
fi

if [ ${#failed[@]} -eq 0 ]; then
    printf '  ... Passed --  %4d s  findings 1-10 and the combined attack\n' $((SECONDS - t0))
    exit 0
fi
echo "--- FAIL: test-hostile: ${failed[*]} ($((SECONDS - t0)) s)"
exit 1
