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

$b/tools/model_zoo/cagr-zoo --model=dlrm_kaggle --out="$ab_dir/m/model.xml" > /dev/null
echo '<plugins><plugin name="cuda"><option key="allow_tf32" value="1"/></plugin></plugins>' > "$ab_dir/tf32.xml"
for round in $(seq "$rounds"); do
  for build in A B; do
    for precision in f32 tf32; do
      manifest=(); [ $precision = tf32 ] && manifest=(--plugin_manifest="$ab_dir/tf32.xml")
      for batch in ${batches//,/ }; do
        ncu --metrics gpu__time_duration.sum -k "regex:$kernel" --csv $b/tools/cagr-run/cagr-run --model="$ab_dir/m/model.xml" \
          --plugins="$ab_dir/$build/libcagr_cuda.so" --resident_inputs --probe=false "${manifest[@]}" --batch="$batch" --iterations=2 \
          --warmup=0 --profile=false --graph_capture=false 2>/dev/null |
          awk -F'","' -v tag="$build $precision $batch" '/gpu__time_duration/ {gsub(/[",]/, "", $NF); print tag, $NF / 1000}'
      done
    done
  done
done
