#!/usr/bin/env bash
# Installs the dependencies, builds CAGR, and runs every test: once in a release build (all plugins,
# the HIP and CUDA plugins compiled and checked to load without a GPU) and once under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh

jobs=${CAGR_JOBS:-$(nproc)}
# ccache (tools/install-deps.sh installs it) keeps a rerun's builds short: only what changed compiles.
launcher=""
command -v ccache > /dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"

echo "== release build and tests"
# With the Python module (python/), whose tests include a `pip install .` into a fresh virtual
# environment. Not in the sanitizer builds: an instrumented extension needs an instrumented python.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCAGR_BUILD_PYTHON=ON $launcher
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 600)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
# The GPU plugins are compiled by nvcc/hipcc, which do not take the host sanitizers; they are
# covered by the release build above.
cmake -S . -B build-asan $launcher -DCMAKE_BUILD_TYPE=Debug -DCAGR_SANITIZE=ON -DCAGR_BUILD_HIP=OFF -DCAGR_BUILD_CUDA=OFF -DCAGR_BUILD_BENCH=OFF
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs" --timeout 900)

echo "== ThreadSanitizer: cagr.h's thread rules (8 threads x 200 passes, and one session misused by 8), isolated plugins"
# Only that test and what it runs (libcagr, the CPU plugin) are built: about 4 CPU-minutes. The CPU
# plugin runs one OpenMP thread per call there (its manifest), as libgomp is not instrumented.
tsan=-fsanitize=thread
cmake -S . -B build-tsan $launcher -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAGR_BUILD_HIP=OFF -DCAGR_BUILD_CUDA=OFF -DCAGR_BUILD_BENCH=OFF \
  -DCAGR_BUILD_OPENCL=OFF -DCMAKE_C_FLAGS=$tsan -DCMAKE_CXX_FLAGS=$tsan -DCMAKE_EXE_LINKER_FLAGS=$tsan \
  -DCMAKE_SHARED_LINKER_FLAGS=$tsan -DCMAKE_MODULE_LINKER_FLAGS=$tsan
cmake --build build-tsan -j"$jobs" --target c_api_threads_tests isolated_plugins_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/core/c_api_threads_tests
# Plugins isolated in worker processes, sessions on 4 threads sharing one (docs/RELIABILITY.md).
OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/core/isolated_plugins_tests

echo "== libFuzzer smoke run: every parser of outside input, 10 s each (clang, ASan + UBSan)"
# The long documented run, one target at a time: tools/fuzz.sh --runs=1000000 SECONDS TARGET (docs/RELIABILITY.md).
CAGR_JOBS="$jobs" bash tools/fuzz.sh 10
