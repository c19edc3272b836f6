#!/bin/bash
# embedding_cache.sh - the OpenCL plugin's embedding cache on PoCL (docs/PERF.md "Embedding cache"):
# hit rate and throughput of a table kept in host memory behind a device cache of 1%, 10% and 50%
# of its rows, against the table resident on the device (cache=1), under uniform and Zipf(1.05)
# ids; every configuration once per round, rounds interleaved, one thread, nice -15. Given several
# build directories (comma-separated: a build before a change and one after), each configuration
# runs in each of them in turn, so that they are compared under the same load.
#
#   bench/embedding_cache.sh BUILD_DIR[,BUILD_DIR...] [ROUNDS] [extra bench options...]
set -euo pipefail
IFS=, read -r -a builds <<< "$1"
rounds=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
export OMP_NUM_THREADS=1 POCL_MAX_PTHREAD_COUNT=1
uptime
for round in $(seq 1 "$rounds"); do
  for ids in uniform zipf; do
    for cache in 1 0.5 0.1 0.01; do
      for build in "${builds[@]}"; do
        echo -n "round=$round build=$build "
        nice -n -15 "$(realpath "$build")/bench/bench_embedding_cache_opencl" --ids $ids --cache $cache "$@"
      done
    done
  done
done
uptime
