#!/bin/bash
# test-tamper.sh - grade's tamper check (test-scripts/tamper_check.py)
# refuses student libraries that switch the test network's fault model off
# or reach around it, and accepts the reference's.
#
#   labs/classroom/tests/test-tamper.sh BUILD    (BUILD: e.g. build/release)
set -eu
BUILD=${1:?usage: test-tamper.sh BUILD}
CHECK=test-scripts/tamper_check.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# The reference's student-side libraries pass.
if ! TAMPER_BUILD=$BUILD $CHECK "$BUILD"/lib/lib{kvsrv,raft,kvraft,shardctrler,shardkv}.a \
        >"$tmp/ref.out" 2>&1; then
    echo "FAIL reference libraries refused:"; cat "$tmp/ref.out"; fail=1
fi

# Each tampering student file (kvsrv/server.c-like) is refused, naming why.
case_() { # name, expected words, C source
    printf '%s\n' "$3" >"$tmp/$1.c"
    cc -c -Wall -I. "$tmp/$1.c" -o "$tmp/$1.o"
    ar rcs "$tmp/lib$1.a" "$tmp/$1.o"
    if TAMPER_BUILD=$BUILD $CHECK "$tmp/lib$1.a" >"$tmp/$1.out" 2>&1; then
        echo "FAIL $1: accepted"; fail=1
    elif ! grep -q "$2" "$tmp/$1.out"; then
        echo "FAIL $1: refused without naming '$2':"; cat "$tmp/$1.out"; fail=1
    else
        echo "ok   $1: $(head -1 "$tmp/$1.out")"
    fi
}
case_ filter_off rpc_end_set_filter '#include "rpc/rpc.h"
void cheat(struct rpc_end *e) { rpc_end_set_filter(e, 0, 0); }'
case_ own_end rpc_end_new '#include "rpc/rpc.h"
struct rpc_end *cheat(struct rpc_end *e) { char a[64]; int err;
  rpc_end_addr(e, a, sizeof a); return rpc_end_new(a, &err); }'
case_ socket socket '#include <sys/socket.h>
int cheat(void) { return socket(AF_INET, SOCK_STREAM, 0); }'
case_ labnet labnet_enable 'void labnet_enable(void *, const char *, int);
void cheat(void *n) { labnet_enable(n, "x", 1); }'
case_ redefine_rpc "defines rpc_call" 'int rpc_call(void *e) { (void)e; return 0; }'
case_ redefine_malloc "defines malloc" '#include <stddef.h>
void *malloc(size_t n) { (void)n; return 0; }'
case_ dlsym dlsym '#include <dlfcn.h>
void *cheat(void) { return dlsym(RTLD_DEFAULT, "rpc_end_set_filter"); }'
[ $fail = 0 ] && echo "test-tamper: ok"
exit $fail
