#!/usr/bin/env bash
# Strong and weak scaling of training over threads, for the three standard workloads:
#   S: 2-2-1 on 1,048,576 samples, batch 4096 (batch 256 is too small to split)
#   M: 32-256-1 on 262,144 samples, batch 256
#   D: 64-256-256-1 on 131,072 samples, batch 256
# Strong scaling keeps the samples fixed; weak scaling multiplies them by the thread count.
# Each point trains with exactly that many threads (--exact-threads) on synthetic blobs, written
# once to an NPY file in the output directory so that generating them is not timed, and
# records the median samples/s of its epochs. Each workload and mode sweeps the thread counts
# several times, and each sweep's speedups divide its own rates. A machine whose speed drifts
# between sweeps then moves the ratios less than the rates. The median over the sweeps is
# reported. The script writes scaling.csv and scaling.png (gnuplot) into the output directory
# and prints the parallel efficiency of every point with its range. It also checks that every
# strong-scaling point of a workload saved a model file identical to the one of 1 thread.
#
# Usage: scripts/scaling.sh [-p MAX_THREADS] [-e EPOCHS] [-r SWEEPS] [-o OUT_DIR] [-w "S M D"]
#   -p  largest thread count (default: the number of cores)
#   -e  epochs per point (default 3); the median epoch is reported
#   -r  sweeps over the thread counts (default 3); the median speedup is reported
#   -o  output directory (default build/scaling)
#   -w  workloads to run (default "S M D")
set -euo pipefail
# sort -g and printf read numbers with a decimal point, which other locales write otherwise.
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
bmlp="${BMLP:-$root/build/bmlp}"
max_threads=$(nproc)
epochs=3
sweeps=3
out="$root/build/scaling"
workloads="S M D"

while getopts "p:e:r:o:w:h" opt; do
  case "$opt" in
    p) max_threads=$OPTARG ;;
    e) epochs=$OPTARG ;;
    r) sweeps=$OPTARG ;;
    o) out=$OPTARG ;;
    w) workloads=$OPTARG ;;
    h) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scaling: invalid option; run with -h for help" >&2; exit 2 ;;
  esac
done

case "$sweeps" in
  '' | *[!0-9]* | 0) echo "scaling: invalid sweep count '$sweeps'; expected 1 or more" >&2; exit 2 ;;
esac

if [ ! -x "$bmlp" ]; then
  echo "scaling: $bmlp not found; build first with scripts/build.sh" >&2
  exit 2
fi
if ! command -v gnuplot >/dev/null; then
  echo "scaling: gnuplot not found; scripts/setup.sh installs gnuplot-nox" >&2
  exit 2
fi
mkdir -p "$out"

# Arguments of bmlp train for a workload, without the data.
workload_args() {
  case "$1" in
    S) echo "--hidden 2 --batch 4096" ;;
    M) echo "--hidden 256 --batch 256" ;;
    D) echo "--hidden 256,256 --batch 256" ;;
  esac
}

workload_features() {
  case "$1" in
    S) echo 2 ;;
    M) echo 32 ;;
    D) echo 64 ;;
  esac
}

# Prints the path of an NPY file of the workload's blobs with the given sample count, writing
# it first when it is not there yet.
data_file() {
  local workload=$1 samples=$2
  local path="$out/$workload-$samples.npy"

  if [ ! -s "$path" ]; then
    "$bmlp" gen blobs --features "$(workload_features "$workload")" --samples "$samples" \
      --noise 2 --seed 1 --out "$path" >/dev/null
  fi
  echo "$path"
}

workload_samples() {
  case "$1" in
    S) echo 1048576 ;;
    M) echo 262144 ;;
    D) echo 131072 ;;
  esac
}

# Trains one point and prints its median samples/s; saves the model to $4.
run_point() {
  local workload=$1 threads=$2 samples=$3 model=$4
  local data

  data=$(data_file "$workload" "$samples")
  # shellcheck disable=SC2046
  "$bmlp" train --data "$data" $(workload_args "$workload") --epochs "$epochs" \
    --lr 0.01 --val-split 0 --no-standardize --threads "$threads" --exact-threads \
    --out "$model" |
    awk '/^ +[0-9]+ / { print $NF }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Prints the median of its arguments, which are numbers: the mean of the middle two for an even
# count.
median() {
  printf '%s\n' "$@" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

csv="$out/scaling.csv"
echo "workload,mode,threads,samples,samples_per_second,speedup,efficiency,identical_to_1_thread,efficiency_min,efficiency_max" >"$csv"
all_identical=1
for workload in $workloads; do
  base_samples=$(workload_samples "$workload")
  for mode in strong weak; do
    # rates[sweep * max_threads + t - 1], and speedups likewise. differs[t] is set when a strong
    # point of any sweep trained another model than the first sweep's 1-thread point.
    declare -a rates=() speedups=() differs=()
    for ((r = 0; r < sweeps; r++)); do
      for ((t = 1; t <= max_threads; t++)); do
        samples=$base_samples
        [ "$mode" = weak ] && samples=$((base_samples * t))
        model="$out/$workload-$mode-$t.model"
        rate=$(run_point "$workload" "$t" "$samples" "$model")
        rates[r * max_threads + t - 1]=$rate
        # Strong: speedup = rate / rate(1). Weak: the work grows with t, so the same ratio of
        # rates is the speedup, and efficiency = speedup / t in both.
        speedups[r * max_threads + t - 1]=$(awk -v a="$rate" -v b="${rates[r * max_threads]}" \
          'BEGIN { printf "%.4f", a / b }')
        if [ "$mode" = strong ]; then
          [ "$r" -eq 0 ] && [ "$t" -eq 1 ] && cp "$model" "$out/$workload-strong-reference.model"
          if ! cmp -s "$out/$workload-strong-reference.model" "$model"; then
            differs[t]=1
            all_identical=0
            echo "scaling: $workload on $t threads (sweep $((r + 1))) trained a different model" >&2
          fi
        fi
      done
    done
    for ((t = 1; t <= max_threads; t++)); do
      samples=$base_samples
      [ "$mode" = weak ] && samples=$((base_samples * t))
      point_rates=() point_efficiencies=()
      for ((r = 0; r < sweeps; r++)); do
        point_rates+=("${rates[r * max_threads + t - 1]}")
        point_efficiencies+=("$(awk -v s="${speedups[r * max_threads + t - 1]}" -v t="$t" \
          'BEGIN { printf "%.4f", s / t }')")
      done
      rate=$(median "${point_rates[@]}")
      efficiency=$(median "${point_efficiencies[@]}")
      speedup=$(awk -v e="$efficiency" -v t="$t" 'BEGIN { printf "%.3f", e * t }')
      lowest=$(printf '%s\n' "${point_efficiencies[@]}" | sort -g | head -n 1)
      highest=$(printf '%s\n' "${point_efficiencies[@]}" | sort -g | tail -n 1)
      identical=n/a
      if [ "$mode" = strong ]; then
        identical=yes
        [ -n "${differs[t]:-}" ] && identical=no
      fi
      echo "$workload,$mode,$t,$samples,$rate,$speedup,$efficiency,$identical,$lowest,$highest" >>"$csv"
      printf '%s %-6s threads %2d  samples/s %-12s efficiency %.3f (%.3f-%.3f)  identical %s\n' \
        "$workload" "$mode" "$t" "$rate" "$efficiency" "$lowest" "$highest" "$identical"
    done
  done
done

# One line per workload and mode: parallel efficiency against threads.
plot="$out/scaling.png"
{
  echo "set terminal pngcairo size 900,560"
  echo "set output '$plot'"
  echo "set datafile separator ','"
  echo "set title 'bmlp parallel efficiency ($(nproc) cores, $(date +%Y-%m-%d))'"
  echo "set xlabel 'threads'"
  echo "set ylabel 'parallel efficiency'"
  echo "set yrange [0:1.2]"
  echo "set xtics 1"
  echo "set key bottom left"
  printf "plot "
  sep=""
  for workload in $workloads; do
    for mode in strong weak; do
      printf "%s'%s' using 3:(strcol(1) eq '%s' && strcol(2) eq '%s' ? \$7 : 1/0) with linespoints title '%s %s'" \
        "$sep" "$csv" "$workload" "$mode" "$workload" "$mode"
      sep=", "
    done
  done
  echo
} | gnuplot
echo "scaling: wrote $csv and $plot"
if [ "$all_identical" -eq 1 ]; then
  echo "scaling: every strong-scaling point trained bitwise the same model as 1 thread"
else
  echo "scaling: some points trained a different model than 1 thread (see the CSV)" >&2
  exit 1
fi
