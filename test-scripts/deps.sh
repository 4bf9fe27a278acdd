#!/usr/bin/env bash
# deps.sh - check for, list or install the Debian packages the build needs.
#   deps.sh check      exit 0 when every library is found by pkg-config
#   deps.sh packages   print the package names
#   deps.sh install    install the missing ones (root or passwordless sudo)
set -u
# clang + libclang-rt-14-dev (libFuzzer runtime, Debian 12 name): make fuzz-ci.
# libsodium-dev: the cluster key's challenge-response (rpc/auth.c).
PKGS="build-essential pkg-config libmsgpack-dev libcmocka-dev libsodium-dev python3 python3-msgpack clang libclang-rt-14-dev"

have_all() {
  command -v pkg-config >/dev/null 2>&1 || return 1
  pkg-config --exists msgpack && pkg-config --exists cmocka &&
    pkg-config --exists libsodium
}

case "${1:-check}" in
  check) have_all ;;
  packages) echo "$PKGS" ;;
  install)
    if have_all && /usr/bin/python3 -c 'import msgpack' 2>/dev/null; then
      echo "deps: all present"; exit 0
    fi
    if [ "$(id -u)" = 0 ]; then SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
    else
      echo "deps: missing packages and no permission to install them; run as root:" >&2
      echo "  apt-get update && apt-get install -y $PKGS" >&2
      exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "deps: not a Debian/Ubuntu system; install msgpack-c (pkg-config 'msgpack'), cmocka and python3-msgpack" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq $PKGS
    ;;
  *) echo "usage: $0 check|packages|install" >&2; exit 2 ;;
esac
