#!/usr/bin/env bash
# handin.sh - pack this tree for hand-in: handin-lab<N>.tar.gz at the top of
# the tree, holding the sources under lab<N>/ (what `test-scripts/grade
# --tree lab<N>` grades after extracting it).
#
# Usage: test-scripts/handin.sh LAB        (or: make handin LAB=N)
#   LAB          1-5, or a part such as 3A (it only names the archive)
# Left out: version control directories, build trees (build*/), generated
#   data and results (mr-tmp*, data/, results/, handout/, *.html, mr-out-*),
#   objects and plugins (*.o *.so *.d), core dumps and earlier hand-ins.
# The archive may be at most HANDIN_MAX_BYTES (default 10 MB = 10485760);
#   a bigger one is deleted and its largest files are listed.
set -euo pipefail

LAB=${1:-}
if [[ ! "$LAB" =~ ^[1-5][A-D]?$ ]]; then
    echo "usage: $0 LAB   (LAB = 1..5 or a part such as 3A)" >&2
    exit 2
fi
MAX=${HANDIN_MAX_BYTES:-10485760}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="handin-lab$LAB.tar.gz"
cd "$ROOT"

# Written outside the tree (tar must not see its own output grow), then moved.
TMP=$(mktemp "${TMPDIR:-/tmp}/handin.XXXXXX")
trap 'rm -f "$TMP"' EXIT
rm -f "$OUT"
tar --exclude-vcs \
    --exclude='./build*' --exclude='./handout' --exclude='./results' \
    --exclude='./data' --exclude='mr-tmp*' --exclude='mr-out-*' \
    --exclude='*.html' --exclude='*.o' --exclude='*.so' --exclude='*.d' \
    --exclude='core' --exclude='core.[0-9]*' --exclude='./handin-lab*.tar.gz' \
    --transform "s,^\./,lab$LAB/," --transform "s,^\.$,lab$LAB," \
    -czf "$TMP" .

size=$(stat -c %s "$TMP")
if [ "$size" -gt "$MAX" ]; then
    echo "handin: the archive would be $size bytes, over the $MAX-byte limit." >&2
    echo "handin: the largest files it would hold (remove generated files):" >&2
    find . \( -path './build*' -o -path './.git' -o -path './handout' -o -path './results' \
        -o -path './data' -o -name 'handin-lab*.tar.gz' \) -prune -o -type f -printf '%s\t%p\n' |
        sort -rn | head -10 >&2
    exit 1
fi
mv "$TMP" "$OUT"
chmod 644 "$OUT"
echo "handin: wrote $ROOT/$OUT ($size bytes, $(tar -tzf "$OUT" | grep -vc '/$') files)"
