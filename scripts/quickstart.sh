#!/usr/bin/env bash
# Sets up and builds bmlp, then trains a 2-16-1 network on the built-in synthetic moons set
# (4000 samples, 20% held out) and saves it to build/moons.model.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="${BMLP_BUILD_DIR:-$root/build}"

"$root/scripts/build.sh"
"$build/bmlp" train --out "$build/moons.model"
