# ab_builds.sh - sourced by the A/B scripts (gpu_kernel_ab.sh, gpu_embedding_ab.sh): two builds of
# the CUDA plugin in one device call, the tree as it is (B) and the tree with one plugin source
# replaced by an older copy of it (A).
#
#   build_ab SOURCE OLD_COPY TARGETS...
#
# builds TARGETS in $b (BUILD in the environment, default build-device, made by tools/device-setup.sh
# if missing), then leaves $ab_dir/A/libcagr_cuda.so and $ab_dir/B/libcagr_cuda.so, and the tree and
# $b as they were. Each build keeps the plugin's file name in a folder of its own: a plugin
# manifest's options (allow_tf32) reach a plugin by that name.
b=${BUILD:-build-device}
ab_dir=$(mktemp -d)

build_ab() {
  local source_file=$1 old_copy=$2
  shift 2
  [ -d "$b" ] || CAGR_DEVICE_TARGETS="$*" tools/device-setup.sh build "$b" -DCAGR_BUILD_OPENCL=OFF > /tmp/ab-build.txt
  cmake --build "$b" -j16 --target "$@" > /dev/null
  mkdir -p "$ab_dir/A" "$ab_dir/B"
  cp "$b/plugins/libcagr_cuda.so" "$ab_dir/B/"
  cp "$source_file" "$ab_dir/current" && cp "$old_copy" "$source_file"
  trap 'cp "$ab_dir/current" "$source_file"' EXIT  # the tree is put back however the script ends
  cmake --build "$b" -j16 --target cagr_cuda > /dev/null && cp "$b/plugins/libcagr_cuda.so" "$ab_dir/A/"
  cp "$ab_dir/current" "$source_file"
  cmake --build "$b" -j16 --target cagr_cuda > /dev/null  # $b holds the current tree again
}

# ab_dlrm_runs ROUNDS BATCHES COMMAND: makes the DLRM Kaggle model ($ab_dir/m/model.xml, cagr-zoo)
# and calls COMMAND BUILD PRECISION BATCH [--plugin_manifest=...] for each round, build (A, B),
# precision (f32, tf32: the manifest that sets allow_tf32) and batch, in that nesting.
ab_dlrm_runs() {
  local rounds=$1 batches=$2 command=$3 round build precision batch
  "$b/tools/model_zoo/cagr-zoo" --model=dlrm_kaggle --out="$ab_dir/m/model.xml" > /dev/null
  echo '<plugins><plugin name="cuda"><option key="allow_tf32" value="1"/></plugin></plugins>' > "$ab_dir/tf32.xml"
  for round in $(seq "$rounds"); do
    for build in A B; do
      for precision in f32 tf32; do
        local manifest=()
        [ $precision = tf32 ] && manifest=(--plugin_manifest="$ab_dir/tf32.xml")
        for batch in ${batches//,/ }; do "$command" $build $precision "$batch" "${manifest[@]}"; done
      done
    done
  done
}
