#!/usr/bin/env bash
# Sets up and builds bmlp, then runs the whole test suite through ctest.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="${BMLP_BUILD_DIR:-$root/build}"

"$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure --timeout 600
