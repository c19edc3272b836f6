#!/usr/bin/env bash
# gpu_kernel_ab.sh - one kernel of the DLRM Kaggle pass timed by Nsight Compute in two builds of the
# CUDA plugin made in the same device call: the tree as it is (B), and the tree with one plugin
# source replaced by an older copy of it (A). Each build is timed over ROUNDS rounds of two launches,
# alternating A and B, in f32 and with TF32 allowed, at each batch size.
#
#   here:   git show 0a60833:plugins/hip/interaction.cpp > bench-a.cpp    (untracked, carried along)
#   there:  bash bench/gpu_kernel_ab.sh plugins/hip/interaction.cpp bench-a.cpp staged_interaction 16384
#
# Arguments: SOURCE (the plugin file to swap), OLD_COPY (its older version), KERNEL_REGEX (ncu -k
# regex), BATCHES (comma-separated); ROUNDS in the environment (default 2). Needs the tree built by
# tools/device-setup.sh in build-device (bench/ab_builds.sh builds it if missing). Prints "build
# precision batch us".
set -euo pipefail
cd "$(dirname "$0")/.."
source_file=$1 old_copy=$2 kernel=$3 batches=$4 rounds=${ROUNDS:-2}
source bench/ab_builds.sh
build_ab "$source_file" "$old_copy" cagr_cuda cagr-run cagr-zoo

# One kernel's time in one build: ncu over a pass without graph replay (kernels launched one by one).
time_kernel() {
  ncu --metrics gpu__time_duration.sum -k "regex:$kernel" --csv $b/tools/cagr-run/cagr-run --model="$ab_dir/m/model.xml" \
    --plugins="$ab_dir/$1/libcagr_cuda.so" --resident_inputs --probe=false "${@:4}" --batch="$3" --iterations=2 \
    --warmup=0 --profile=false --graph_capture=false 2>/dev/null |
    awk -F'","' -v tag="$1 $2 $3" '/gpu__time_duration/ {gsub(/[",]/, "", $NF); print tag, $NF / 1000}'
}
ab_dlrm_runs "$rounds" "$batches" time_kernel
