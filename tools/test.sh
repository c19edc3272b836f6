#!/usr/bin/env bash
# Installs the dependencies, builds CAGR, and runs every test: once in a release build (all plugins,
# the HIP and CUDA plugins compiled and checked to load without a GPU) and once under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh

jobs=${CAGR_JOBS:-$(nproc)}

echo "== release build and tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 600)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
# The GPU plugins are compiled by nvcc/hipcc, which do not take the host sanitizers; they are
# covered by the release build above.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCAGR_SANITIZE=ON -DCAGR_BUILD_HIP=OFF -DCAGR_BUILD_CUDA=OFF -DCAGR_BUILD_BENCH=OFF
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs" --timeout 900)
