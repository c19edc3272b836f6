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
# tools/device-setup.sh in build-device (it builds it if missing). Prints "build precision batch us".
set -euo pipefail
cd "$(dirname "$0")/.."
source_file=$1 old_copy=$2 kernel=$3 batches=$4 rounds=${ROUNDS:-2}
b=build-device
[ -x $b/tools/cagr-run/cagr-run ] ||
  CAGR_DEVICE_TARGETS="cagr_cuda cagr-run cagr-zoo" tools/device-setup.sh build $b -DCAGR_BUILD_OPENCL=OFF > /tmp/ab-build.txt
tmp=$(mktemp -d)
# Each build keeps the plugin's file name in a folder of its own: the manifest's options (allow_tf32)
# reach a plugin by that name.
mkdir -p "$tmp/A" "$tmp/B"
cmake --build $b -j16 --target cagr_cuda > /dev/null && cp $b/plugins/libcagr_cuda.so "$tmp/B/"
cp "$source_file" "$tmp/current" && cp "$old_copy" "$source_file"
trap 'cp "$tmp/current" "$source_file"' EXIT  # the tree is put back however the script ends
cmake --build $b -j16 --target cagr_cuda > /dev/null && cp $b/plugins/libcagr_cuda.so "$tmp/A/"
cp "$tmp/current" "$source_file"
cmake --build $b -j16 --target cagr_cuda > /dev/null  # build-device holds the current tree again

$b/tools/model_zoo/cagr-zoo --model=dlrm_kaggle --out="$tmp/m/model.xml" > /dev/null
echo '<plugins><plugin name="cuda"><option key="allow_tf32" value="1"/></plugin></plugins>' > "$tmp/tf32.xml"
for round in $(seq "$rounds"); do
  for build in A B; do
    for precision in f32 tf32; do
      manifest=(); [ $precision = tf32 ] && manifest=(--plugin_manifest="$tmp/tf32.xml")
      for batch in ${batches//,/ }; do
        ncu --metrics gpu__time_duration.sum -k "regex:$kernel" --csv $b/tools/cagr-run/cagr-run --model="$tmp/m/model.xml" \
          --plugins="$tmp/$build/libcagr_cuda.so" --resident_inputs --probe=false "${manifest[@]}" --batch="$batch" --iterations=2 \
          --warmup=0 --profile=false --graph_capture=false 2>/dev/null |
          awk -F'","' -v tag="$build $precision $batch" '/gpu__time_duration/ {gsub(/[",]/, "", $NF); print tag, $NF / 1000}'
      done
    done
  done
done
