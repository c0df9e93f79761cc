#!/usr/bin/env bash
# Installs the Debian 12 packages that only .ci/run needs, on top of scripts/setup.sh: the clang
# compiler, its sanitizer and OpenMP runtimes, valgrind, clang-format, cppcheck and the locale sources.
# Running it again is safe, because apt runs only when a package is missing. Waits up to 5
# minutes for a concurrent apt.
set -euo pipefail

packages=(
  clang                # compiler of the asan-ubsan stage
  libclang-rt-14-dev   # AddressSanitizer, UndefinedBehaviorSanitizer and ThreadSanitizer runtimes
  libomp-14-dev        # LLVM's OpenMP runtime and its archer tool, for the tsan stage
  valgrind             # memcheck in the valgrind stage
  clang-format         # format check in the format-and-lint stage
  cppcheck             # static analysis in the format-and-lint stage
  locales              # de_DE locale source, for the CSV test of a decimal-comma locale
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup-ci: missing packages: ${missing[*]}. Run this script as root to install them." >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
fi
