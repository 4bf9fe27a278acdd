#!/usr/bin/env bash
# test-autograder.sh - the Gradescope autograder, end to end, in
# Gradescope's directory layout (a temporary AUTOGRADER_ROOT): the zip is
# unpacked into source/, a submission put into submission/, run_autograder
# writes results/results.json. Lab 2 keeps it short (~5 minutes):
#   reference (a hand-in archive)           -> full marks
#   skeleton (an empty submission)          -> zero
#   a Get handler that never returns        -> graded, tests fail "killed"
#   a Put handler that crashes              -> graded, tests fail "SIGABRT"
#   a server that switches the fault filter off -> refused, zero
#
#   labs/classroom/tests/test-autograder.sh [ZIP]   (default: built here)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
T=$(mktemp -d "${TMPDIR:-/tmp}/test-autograder.XXXXXX")
trap 'rm -rf "$T"' EXIT
ZIP=${1:-$T/autograder.zip}
if [ $# -eq 0 ]; then
    labs/classroom/autograder/make-autograder.py --out "$ZIP" --labs 2 || exit 1
fi
fail=0

# run_case NAME: grade $T/$NAME/submission; leaves results.json there.
run_case() {
    local ag=$T/$1/autograder
    mkdir -p "$ag/source" "$ag/results"
    python3 -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    p = z.extract(i, sys.argv[2])
    if not i.is_dir(): os.chmod(p, (i.external_attr >> 16) & 0o777 or 0o644)' "$ZIP" "$ag/source"
    AUTOGRADER_ROOT=$ag GRADE_TIMEOUT=${CASE_TIMEOUT:-120} GRADE_LAB_TIMEOUT=${CASE_LAB_TIMEOUT:-600} \
        "$ag/source/run_autograder" >"$T/$1/log" 2>&1
}

# check NAME PYTHON-CONDITION WHAT: r is results.json, out all outputs.
check() {
    if python3 - "$T/$1/autograder/results/results.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
out = r.get("output", "") + "".join(t.get("output", "") for t in r["tests"])
maxs = sum(t["max_score"] for t in r["tests"])
print(f"    score {r['score']:g} of {maxs:g}")
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
    then echo "ok   $1: $3"
    else echo "FAIL $1: $3"; tail -30 "$T/$1/log"; fail=1
    fi
}

# A submission with kvsrv/server.c patched by a sed script.
patched() {
    mkdir -p "$T/$1/autograder/submission/kvsrv"
    sed "$2" kvsrv/server.c >"$T/$1/autograder/submission/kvsrv/server.c"
    cp kvsrv/client.c "$T/$1/autograder/submission/kvsrv/"
}

mkdir -p "$T/reference/autograder/submission"
tar -czf "$T/reference/autograder/submission/handin-lab2.tar.gz" \
    --transform 's,^,lab2/,' kvsrv
run_case reference
check reference 'r["score"] == maxs > 0' "the reference gets full marks"

mkdir -p "$T/skeleton/autograder/submission"
run_case skeleton
check skeleton 'r["score"] == 0 and maxs > 0' "the skeleton gets zero"

patched hang '/^static int h_get(/,/^{/s/^{/{ for (;;) pause();/'
sed -i 's|^#include "kvsrv/kvsrv.h"|#include "kvsrv/kvsrv.h"\n#include <unistd.h>|' \
    "$T/hang/autograder/submission/kvsrv/server.c"
CASE_TIMEOUT=8 CASE_LAB_TIMEOUT=40 run_case hang
check hang 'r["score"] == 0 and ("took longer than" in out or "killed" in out)' "a hanging handler is graded, its tests killed"

patched crash '/^static int h_put(/,/^{/s/^{/{ abort();/'
run_case crash
check crash 'r["score"] == 0 and "SIGABRT" in out' "a crashing handler is graded, its tests fail"

patched tamper '$a\
void kvsrv_cheat(struct rpc_end *e);\
void kvsrv_cheat(struct rpc_end *e) { rpc_end_set_filter(e, NULL, NULL); }'
run_case tamper
check tamper 'r["score"] == 0 and "refused" in out and "rpc_end_set_filter" in out' \
    "a submission switching the fault model off is refused"

[ $fail = 0 ] && echo "test-autograder: ok"
exit $fail
