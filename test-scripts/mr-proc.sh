#!/usr/bin/env bash
# mr-proc.sh - runs one lab 1 program for test-mr.sh and records, in the
# test's timeline ($MR_TIMELINE_EVENTS, see mr-watch.py), when it started
# (with its pid) and how it ended: exit status, or the signal that killed
# it. Workers get the lowest free lane "worker K" (a crashed worker's
# replacement takes its lane). Without MR_TIMELINE_EVENTS it just runs the
# program. The program runs in the foreground as this script's child, with
# default signal dispositions; this script survives the TERM/INT/HUP that
# timeout(1) sends to its whole process group, to report the program's end.
#
#   mr-proc.sh coordinator|worker PROGRAM ARGS...
set -u
role=$1
shift
ev=${MR_TIMELINE_EVENTS:-}
[ -n "$ev" ] || exec "$@"

lane=$role
slot=
if [ "$role" = worker ]; then
    k=1
    while ! mkdir "$ev.slots/$k" 2>/dev/null; do
        [ -d "$ev.slots" ] || exec "$@" # the test is over: no timeline
        k=$((k + 1))
    done
    slot=$ev.slots/$k
    lane="worker $k"
fi

trap ':' TERM INT HUP
# This shell's own stderr goes nowhere (it would report "Terminated" for a
# killed program, which test-mr.sh never printed); the program's is kept.
exec 3>&2 2>/dev/null
# $BASHPID in the subshell is the program's pid once it execs.
what=${1##*/}
last=${!#}
[ "$role" = worker ] && what="$what ${last##*/}" # and its app
( echo "${EPOCHREALTIME/./} start $lane pid $BASHPID $what" >>"$ev"
  trap - TERM INT HUP
  exec "$@" 2>&3 3>&- )
st=$?
if [ $st -gt 128 ] && [ $st -lt 160 ]; then
    how="killed by SIG$(kill -l $((st - 128)))"
else
    how="exit $st"
fi
echo "${EPOCHREALTIME/./} exit $lane $how" >>"$ev"
[ -n "$slot" ] && rmdir "$slot" 2>/dev/null
exit $st
