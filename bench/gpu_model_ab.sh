#!/usr/bin/env bash
# gpu_model_ab.sh - the whole DLRM Kaggle forward pass (cagr-run, tuned, inputs resident, replayed as
# a graph) in two builds of the CUDA plugin made in the same device call: the tree as it is (B), and
# the tree with one plugin source replaced by another copy of it (A). Each build runs ROUNDS rounds,
# alternating A and B, in f32 and with TF32 allowed, at each batch size: an A/B of one change at the
# level the issue's targets are measured, without PyTorch's run-to-run swings in the way.
#
#   here:   git show c6bbf35:plugins/hip/interaction.cpp > bench-a.cpp   (the source as it was, or
#           with the change switched off; untracked, carried along)
#   there:  bash bench/gpu_model_ab.sh plugins/hip/interaction.cpp bench-a.cpp 2048,16384
#
# Arguments: SOURCE, OLD_COPY, BATCHES (comma-separated); ROUNDS (default 3) and ITERATIONS (passes
# per run, default 500) in the environment. Needs the tree built by tools/device-setup.sh in
# build-device (bench/ab_builds.sh builds it if missing). Prints "build precision batch p50_us".
set -euo pipefail
cd "$(dirname "$0")/.."
source_file=$1 old_copy=$2 batches=$3 rounds=${ROUNDS:-3} iterations=${ITERATIONS:-500}
source bench/ab_builds.sh
build_ab "$source_file" "$old_copy" cagr_cuda cagr-run cagr-zoo

# The forward pass's p50 in one build: cagr-run tuned, its graph replayed.
time_pass() {
  $b/tools/cagr-run/cagr-run --model="$ab_dir/m/model.xml" --plugins="$ab_dir/$1/libcagr_cuda.so" --resident_inputs \
    --probe=false "${@:4}" --batch="$3" --tune --iterations="$iterations" --profile=false 2>/dev/null |
    awk -v tag="$1 $2 $3" '/latency p50/ {for (i = 1; i <= NF; ++i) if ($i == "p50") print tag, $(i + 1)}'
}
ab_dlrm_runs "$rounds" "$batches" time_pass
