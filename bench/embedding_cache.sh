#!/bin/bash
# embedding_cache.sh - the OpenCL plugin's embedding cache on PoCL (docs/PERF.md "Embedding cache"):
# hit rate and throughput of a table kept in host memory behind a device cache of 1%, 10% and 50%
# of its rows, against the table resident on the device (cache=1), under uniform and Zipf(1.05)
# ids; every configuration once per round, rounds interleaved, one thread, nice -15.
#
#   bench/embedding_cache.sh BUILD_DIR [ROUNDS] [extra bench options...]
set -euo pipefail
build=$(realpath "$1")
rounds=${2:-3}
shift 2 || true
export OMP_NUM_THREADS=1 POCL_MAX_PTHREAD_COUNT=1
uptime
for round in $(seq 1 "$rounds"); do
  for ids in uniform zipf; do
    for cache in 1 0.5 0.1 0.01; do
      echo -n "round=$round "
      nice -n -15 "$build/bench/bench_embedding_cache_opencl" --ids $ids --cache $cache "$@"
    done
  done
done
uptime
