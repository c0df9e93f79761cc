#!/usr/bin/env bash
# Installs the dependencies (scripts/setup.sh), then configures and builds bmlp in build/
# (BMLP_BUILD_DIR if set), with BMLP_JOBS parallel jobs (default: one per core). Extra arguments
# go to the CMake configure step, for example -DBMLP_BUILD_BENCH=ON.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="${BMLP_BUILD_DIR:-$root/build}"

"$root/scripts/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" --parallel "${BMLP_JOBS:-$(nproc)}"
