#!/usr/bin/env bash
# Installs every Debian package CAGR builds and tests with. Idempotent: packages already present
# are left alone, so the README commands and .ci/run can call it every time.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libdnnl-dev            # oneDNN: the CPU plugin's linear (inner product / matmul) kernels
  libhwloc-dev           # hwloc: CPU topology, cache sizes, NUMA nodes for device properties
  libtinyxml2-dev        # tinyxml2: model.xml and plugins.xml
  libgflags-dev          # gflags: cagr-run's command line
  libzip-dev             # libzip: .npz files (zip archives of .npy arrays)
  libgtest-dev libgmock-dev  # GoogleTest: unit and conformance tests
  libbenchmark-dev       # Google Benchmark: bench/
  opencl-headers ocl-icd-opencl-dev pocl-opencl-icd  # OpenCL plugin; PoCL runs it on the CPU
  hipcc libamdhip64-dev  # HIP plugin for AMD GPUs (compiled in CI, no GPU needed)
  libonnx-dev libprotobuf-dev protobuf-compiler  # ONNX import
  libonnx-testdata       # ONNX's own node test cases: tests/onnx/conformance_test.cpp
  python3 python3-numpy  # numpy: the tests' .npz checks (tests/onnx/check_outputs.py, Npz.*), never the runtime
  python3-dev python3-venv python3-pytest  # the Python module (python/): headers, pip install's test venv, its tests
  clang libclang-rt-14-dev  # clang and its libFuzzer: the fuzz targets of tests/fuzz (tools/fuzz.sh)
  ccache                 # tools/test.sh's builds and the pip install test reuse unchanged objects
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# The tests run the first python3 on PATH, which may not be Debian's (pyenv, a virtual
# environment): give that one numpy too, from the package registry.
python3 -c 'import numpy' 2>/dev/null || python3 -m pip install --quiet numpy
python3 -c 'import pytest' 2>/dev/null || python3 -m pip install --quiet pytest
# The Python module's build tools, which Debian 12 does not package: nanobind (the binding) and
# scikit-build-core (pip install's build backend over our CMake). Debian's own python3 refuses pip
# installs outside a virtual environment (PEP 668) unless told; these two are pure Python.
if ! python3 -c 'import nanobind, scikit_build_core' 2>/dev/null; then
  python3 -m pip install --quiet nanobind scikit-build-core 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages nanobind scikit-build-core
fi
# Ray Serve: the scale-out example in serving/ and its test (ctest serving.ray_two_replicas), never
# the runtime. Pinned, as Serve's API moves between releases; about 240 MB installed.
if ! python3 -c 'import ray.serve' 2>/dev/null; then
  python3 -m pip install --quiet "ray[serve]==2.60.0" 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages "ray[serve]==2.60.0"
fi
