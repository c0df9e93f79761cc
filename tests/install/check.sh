#!/bin/sh
# Installs a build into a temporary prefix, then builds and runs tests/install/consumer.c
# against it twice: as C with the flags of the pkg-config file, and as C++ in a CMake project
# that calls find_package(bmlp). Also runs the installed command and checks for the documents.
# Usage: check.sh CMAKE BUILD_DIR CONFIG C_COMPILER CXX_COMPILER
set -eu

cmake=$1
build=$2
config=$3
cc=$4
cxx=$5
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cmake" --install "$build" --config "$config" --prefix "$tmp/prefix" >/dev/null
"$tmp/prefix/bin/bmlp" --version
test -f "$tmp/prefix/share/doc/bmlp/docs/csv-format.md"

pc=$(find "$tmp/prefix" -name bmlp.pc)
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
"$cc" -std=c11 -o "$tmp/consumer-pc" "$here/consumer.c" $(pkg-config --cflags --libs bmlp)
echo "pkg-config build:"
"$tmp/consumer-pc"

"$cmake" -S "$here" -B "$tmp/consumer-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE="$config" >/dev/null
"$cmake" --build "$tmp/consumer-build" --config "$config" >/dev/null
echo "find_package build:"
"$tmp/consumer-build/consumer"
