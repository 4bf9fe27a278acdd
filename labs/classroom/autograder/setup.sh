#!/usr/bin/env bash
# setup.sh - Gradescope runs this once, as root, when it builds the
# autograder image (Ubuntu): install the Debian/Ubuntu packages the labs
# build with (test-scripts/deps.sh lists them) plus what grading needs.
set -euo pipefail
SRC=${AUTOGRADER_ROOT:-/autograder}/source
apt-get update -qq
apt-get install -y -qq python3 make gcc binutils
bash "$SRC/skeleton/test-scripts/deps.sh" install
