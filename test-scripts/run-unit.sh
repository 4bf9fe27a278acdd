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
# UNIT_TEST_LABS="test_mr:1 ...": unit tests of code a student writes; in
# the skeleton they fail until that lab is done, and the line says so.
pending_lab() {
  local w
  for w in ${UNIT_TEST_LABS:-}; do
    [ "${w%%:*}" = "$(basename "${1%% *}")" ] && { echo "${w#*:}"; return; }
  done
}
for f in "${failed[@]+"${failed[@]}"}"; do
  lab=$(pending_lab "$f")
  if [ -n "$lab" ]; then
    echo "FAILED: $f - it tests your lab $lab code: expected to fail until lab $lab is done (make test-lab$lab runs it too)"
  else
    echo "FAILED: $f"
  fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
