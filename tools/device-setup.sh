#!/usr/bin/env bash
# device-setup.sh - builds CAGR on the GPU machine of the `device` tool, which has CUDA, CMake and
# PyTorch but none of our Debian dev packages and no package registry.
#
# One script, two halves:
#   here (the Debian dev machine), once:   tools/device-setup.sh fetch
#       apt-get downloads every .deb the build needs into .device/debs (git ignores .device/;
#       about 15 MiB, inside the 64 MiB the device tool carries).
#   there, first thing in a `run` call with carry [".device"]:
#       tools/device-setup.sh build [BUILD_DIR] [extra cmake arguments...]
#       unpacks the .debs with `dpkg -x` into /, then configures BUILD_DIR (default build-device)
#       with -DCAGR_BUILD_HIP=OFF and builds with -j16: everything, or only the targets listed in
#       CAGR_DEVICE_TARGETS (e.g. CAGR_DEVICE_TARGETS="cagr_cuda cagr_conformance_tests").
# Example run command:
#   tools/device-setup.sh build && ctest --test-dir build-device --output-on-failure
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
debs="$root/.device/debs"

# The build's dev packages and the runtime libraries they need that Ubuntu's CUDA image lacks
# (base libraries such as libc6, libstdc++6, zlib1g and libgomp1 are there already).
packages=(
  libdnnl-dev libdnnl2 libnuma-dev libnuma1
  libhwloc-dev libhwloc15 libltdl7
  libtinyxml2-dev libtinyxml2-9
  libgflags-dev libgflags2.2
  libzip-dev libzip4 zlib1g-dev
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev libbenchmark1debian
  opencl-headers opencl-c-headers opencl-clhpp-headers ocl-icd-opencl-dev ocl-icd-libopencl1
  libonnx-dev libonnx1 libonnxifi libprotobuf-dev libprotobuf32 libprotobuf-lite32 protobuf-compiler libprotoc32
  pkgconf pkgconf-bin libpkgconf3
)

case "${1:-}" in
  fetch)
    mkdir -p "$debs"
    grep -qx '/.device/' "$root/.git/info/exclude" 2>/dev/null || echo '/.device/' >>"$root/.git/info/exclude"
    (cd "$debs" && apt-get download "${packages[@]}")
    du -sh "$debs"
    ;;
  build)
    shift
    build_dir="${1:-build-device}"
    [ $# -gt 0 ] && shift
    [ -d "$debs" ] || { echo "device-setup: $debs missing: run 'tools/device-setup.sh fetch' here and carry .device" >&2; exit 1; }
    for f in "$debs"/*.deb; do dpkg -x "$f" /; done
    ldconfig
    cmake -S "$root" -B "$root/$build_dir" -DCMAKE_BUILD_TYPE=Release -DCAGR_BUILD_HIP=OFF "$@"
    targets=()
    [ -n "${CAGR_DEVICE_TARGETS:-}" ] && targets=(--target ${CAGR_DEVICE_TARGETS})
    cmake --build "$root/$build_dir" -j16 "${targets[@]}"
    ;;
  *)
    echo "usage: $0 fetch | build [BUILD_DIR] [cmake arguments...]" >&2
    exit 2
    ;;
esac
