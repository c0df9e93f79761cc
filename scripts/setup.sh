#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests and the benchmarks need, then
# extracts the breast cancer dataset. Safe to run again: apt skips what is installed, and the
# dataset step skips a file that is already there. Waits up to 5 minutes for a concurrent apt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

packages=(
  build-essential cmake pkg-config
  libsleef-dev        # vectorized exp for the sigmoid
  librandom123-dev    # Philox counter-based random numbers
  libcmocka-dev       # unit tests
  zlib1g-dev          # CRC-32 of model files
  libbenchmark-dev    # benchmarks in bench/
  gnuplot-nox         # plots of scripts/scaling.sh
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
fi

"$here/fetch-breast-cancer.sh"
