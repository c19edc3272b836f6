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
