#!/usr/bin/env bash
# Installs the dependencies, builds what the sample needs (cagr-run, the CPU plugin, the sample
# model), lists the plugins it finds, and runs the bundled sample model (DLRM over the 22 Avazu
# fields) on the real Avazu rows in ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
# Only what the sample needs: cagr-run, the CPU plugin and the sample model (cagr-zoo writes it).
# The full build (every plugin, the tests, the benchmarks) is tools/test.sh's.
cmake --build build -j"${CAGR_JOBS:-$(nproc)}" --target cagr-run cagr_cpu sample_models
./build/tools/cagr-run/cagr-run --list-plugins
./build/tools/cagr-run/cagr-run --plugins=auto --model=build/samples/dlrm_avazu/model.xml \
  --data=../shared/data/avazu_sample.csv --batch=32 --iterations=20 --print-plan
