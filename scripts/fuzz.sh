#!/usr/bin/env bash
# Builds the libFuzzer programs of fuzz/ with clang in build-fuzz/ and runs each one for a
# bounded time on its seed corpus in fuzz/corpus/NAME/.
#
#   bash scripts/fuzz.sh [SECONDS]
#
# SECONDS per program comes from the argument, else from FUZZ_SECONDS, else 60. Inputs are at
# most FUZZ_MAX_LEN bytes (default 4096). New interesting inputs go to build-fuzz/corpus/NAME/,
# so the committed seeds are never changed, and the input of any crash, leak or timeout goes
# to build-fuzz/artifacts/. The script exits with status 1 when any program found one, after
# running all of them. It needs clang with its libFuzzer and sanitizer runtimes (Debian 12:
# the clang package).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-60}}
max_len=${FUZZ_MAX_LEN:-4096}
build="$root/build-fuzz"
loaders=(csv libsvm npy model)

if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: the time per program must be a positive number of seconds, not '$seconds'" >&2
  exit 2
fi

cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBMLP_FUZZ=ON -DBUILD_TESTING=OFF -DBMLP_BUILD_BENCH=OFF
cmake --build "$build" -j"$(nproc)" --target "${loaders[@]/#/fuzz_}"

mkdir -p "$build/artifacts"
# allocator_may_return_null lets a failed allocation reach the loaders' out-of-memory path
# instead of ending the run. A LIBSVM input of 4096 bytes can declare a dense dataset of about
# 2000 samples x 2^20 features (8 GiB), which calloc reserves without touching it. The limit on
# one allocation is therefore above 8 GiB, and the RSS limit (2048 MiB) catches real growth.
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
failed=()
for loader in "${loaders[@]}"; do
  corpus="$build/corpus/$loader"
  mkdir -p "$corpus"
  log="$build/logs/$loader.log"
  mkdir -p "$build/logs"
  echo "== fuzz_$loader: $seconds s, inputs up to $max_len bytes (log: $log)"
  # libFuzzer reports every new input, so its log goes to a file. Only the final statistics are
  # printed, or the last lines of the log after a failure.
  if "$build/fuzz_$loader" -max_total_time="$seconds" -max_len="$max_len" -timeout=30 \
      -rss_limit_mb=2048 -malloc_limit_mb=16384 -print_final_stats=1 \
      -artifact_prefix="$build/artifacts/$loader-" "$corpus" "$root/fuzz/corpus/$loader" \
      >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  else
    tail -n 60 "$log" >&2
    failed+=("$loader")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz.sh: failures in: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: no crash, leak or timeout in ${loaders[*]} ($seconds s each)"
