#!/usr/bin/env bash
# run-unit.sh - run cmocka unit-test binaries, each under a time limit,
# and print one closing line "N passed, M failed".
set -u
LIMIT=${UNIT_TIMEOUT:-300}
pass=0; fail=0; failed=()
for t in "$@"; do
  echo "=== $t"
  if timeout -k 5 "$LIMIT" "$t"; then pass=$((pass+1)); else
    rc=$?; fail=$((fail+1)); failed+=("$t (exit $rc)")
  fi
done
for f in "${failed[@]+"${failed[@]}"}"; do echo "FAILED: $f"; done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
