#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz: clang, ASan + UBSan) and runs each from its seed corpus
# for SECONDS (default 10):   tools/fuzz.sh [--runs=N] [SECONDS] [TARGET...]
# --runs=N stops each target after N executions (or SECONDS, whichever comes first). The documented
# long run (docs/RELIABILITY.md), one target at a time:   tools/fuzz.sh --runs=1000000 86400 TARGET
# New inputs the fuzzer finds go to <build>/corpus/<target> (kept between runs); a failure leaves
# its input in <build>/crash-* (or oom-*, timeout-*) and fails the script: add it to
# tests/fuzz/corpus/<kind>/ with the fix. CAGR_FUZZ_BUILD_DIR: the build folder (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=-1
case "${1:-}" in --runs=*) runs=${1#--runs=}; shift ;; esac
[[ "$runs" =~ ^-?[0-9]+$ ]] || { echo "fuzz.sh: --runs takes a number of executions, not '$runs'" >&2; exit 2; }
seconds=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_model_files fuzz_onnx fuzz_plugins_xml fuzz_npz fuzz_avazu_rows fuzz_criteo_rows fuzz_plan)
build=${CAGR_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${CAGR_JOBS:-$(nproc)}

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=None -DCAGR_BUILD_FUZZERS=ON -DCAGR_BUILD_OPENCL=OFF \
  -DCAGR_BUILD_HIP=OFF -DCAGR_BUILD_CUDA=OFF -DCAGR_BUILD_BENCH=OFF "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

# Seeds: the repository's own files of each kind, the inputs that once failed (tests/fuzz/corpus:
# every finding stays there as a regression), and the first rows of the shared data's samples.
seeds_of() {
  case "$1" in
    fuzz_model_files) echo tests/fuzz/corpus/model_files ;;
    fuzz_onnx) echo tests/onnx/fixtures tests/onnx/gallery tests/fuzz/corpus/onnx ;;
    fuzz_plugins_xml) echo tests/fuzz/corpus/plugins_xml ;;
    fuzz_plan) echo tests/fuzz/corpus/plan ;;
    fuzz_npz) mkdir -p "$build/seeds/npz" && cp tests/data/*.npz "$build/seeds/npz/" && echo "$build/seeds/npz" tests/fuzz/corpus/npz ;;
    fuzz_avazu_rows | fuzz_criteo_rows)
      local sample=../shared/data/avazu_sample.csv
      [ "$1" = fuzz_criteo_rows ] && sample=../shared/data/criteo_sample.txt
      mkdir -p "$build/seeds/$1"
      if [ -f "$sample" ]; then head -n 40 "$sample" > "$build/seeds/$1/first_rows"; else echo > "$build/seeds/$1/empty"; fi
      echo "$build/seeds/$1" ;;
  esac
}

# fuzz_onnx's seeds range from a 100-byte graph to 450 KB exports that take 4-9x longer each to
# import than the small seeds of tests/fuzz/make_onnx_seeds.py (docs/RELIABILITY.md): its power
# schedule is scaled by execution time, so the small ones are mutated most while the big fixtures
# stay in the corpus and are still picked.
options_of() {
  case "$1" in
    fuzz_onnx) echo -entropic_scale_per_exec_time=1 ;;
  esac
}

for target in "${targets[@]}"; do
  mkdir -p "$build/corpus/$target"
  log="$build/$target.log"
  echo "== $target, $seconds s$([ "$runs" -ge 0 ] && echo " or $runs executions") (log: $log)"
  if "$build/tests/fuzz/$target" -max_total_time="$seconds" -runs="$runs" -timeout=20 -rss_limit_mb=4096 -artifact_prefix="$build/" \
       -print_final_stats=1 $(options_of "$target") "$build/corpus/$target" $(seeds_of "$target") >"$log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs in)" "$log" || true
  else
    tail -n 60 "$log"
    echo "$target: the fuzzer found a failure (above; its input is in $build/)"
    exit 1
  fi
done
