#!/usr/bin/env bash
# check-layers.sh - enforce the dependency rule between modules
#   common <- rpc <- {mr, kvsrv, raft} <- {kvraft, shardctrler} <- shardkv,
# labs/ and bench/ may use everything, no system module includes labs/,
# and raft/ never includes socket headers (the core talks through rpc/).
# Also the top-level layout: every tracked entry at the root is one of the
# README's (a stray file there is usually a script's output committed by
# mistake: bench/kv/etcd.sh's awk wrote its result to a file "0", 821fec0).
# Greps every #include "dir/..." in each module (tests included) against the
# table below; prints each violation and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."

allowed() {   # the directories module $1 may include from
  case $1 in
    common)      echo "common" ;;
    rpc)         echo "common rpc" ;;
    mr)          echo "common rpc mr" ;;
    kvsrv)       echo "common rpc kvsrv" ;;
    raft)        echo "common rpc raft" ;;
    kvraft)      echo "common rpc kvsrv raft kvraft" ;;
    shardctrler) echo "common rpc raft shardctrler" ;;
    shardkv)     echo "common rpc kvsrv raft shardctrler shardkv" ;;
  esac
}

bad=0
for m in common rpc mr kvsrv raft kvraft shardctrler shardkv; do
  ok=" $(allowed "$m") "
  while IFS=: read -r file line text; do
    dir=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$text")
    if [[ "$ok" != *" $dir "* ]]; then
      echo "check-layers: $file:$line: $m/ must not include $dir/ ($text)"
      bad=1
    fi
  done < <(grep -rnE '^#include "[a-z_]+/' "$m" --include='*.c' --include='*.h')
done
if grep -rnE '#include <(sys/socket|netinet/|arpa/inet|netdb)' raft --include='*.[ch]'; then
  echo "check-layers: raft/ must not include socket headers (use rpc/)"
  bad=1
fi
layout=" .ci .gitignore Makefile README.md bench common kvraft kvsrv labs mr raft rpc shardctrler shardkv test-scripts "
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  while read -r top; do
    if [[ "$layout" != *" $top "* ]]; then
      echo "check-layers: '$top' is tracked at the top level but is not part of the layout (README.md)"
      bad=1
    fi
  done < <(git ls-files | cut -d/ -f1 | sort -u)
fi
[ $bad = 0 ] && echo "check-layers: ok"
exit $bad
