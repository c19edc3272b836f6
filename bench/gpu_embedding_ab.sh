#!/usr/bin/env bash
# gpu_embedding_ab.sh - embedding_bag in two builds of the CUDA plugin made in the same device call
# (bench/ab_builds.sh): the tree as it is (B) and the tree with one plugin source replaced by an
# older copy of it (A). Every variant reads the same 20M x 128 f32 table on the same ids (batch
# 16384, pooling 32; uniform ids and bench/gpu_vs_pytorch.py's Zipf ids), ROUNDS times (default 2)
# alternating A and B, each run with its own device copy measured in the same process.
#
#   here:   git show f6b7602~1:plugins/hip/embedding_bag_kernel.hpp > bench-a.hpp   (untracked, carried along)
#   there:  bash bench/gpu_embedding_ab.sh plugins/hip/embedding_bag_kernel.hpp bench-a.hpp
#
# Prints "build case/variant GB/s (% of copy)" per run. The ids come from bench/gpu_vs_pytorch.py's
# generator (it imports numpy and PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
source_file=$1 old_copy=$2 rounds=${ROUNDS:-2}
source bench/ab_builds.sh
build_ab "$source_file" "$old_copy" cagr_cuda bench_embedding_bag_gpu

rows=20000000 batch=16384 pooling=32
(cd bench && python3 -c "
import numpy as np
from gpu_vs_pytorch import draw_ids
rng = np.random.default_rng(12345)
for dist in ('uniform', 'zipf'):
    draw_ids(rng, $batch * $pooling, $rows, dist).astype(np.int32).tofile('$ab_dir/' + dist + '.idx')
(np.arange($batch + 1) * $pooling).astype(np.int32).tofile('$ab_dir/offsets')")
for round in $(seq "$rounds"); do
  for build in A B; do
    "$b/bench/bench_embedding_bag_gpu" --plugin "$ab_dir/$build/libcagr_cuda.so" --rows $rows --dim 128 --iterations 100 \
      --case "uniform:$ab_dir/uniform.idx:$ab_dir/offsets:$batch" --case "zipf:$ab_dir/zipf.idx:$ab_dir/offsets:$batch" |
      python3 -c "
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.startswith('{')]
copy = next(l['gbps'] for l in lines if l['kind'] == 'copy')
print('$build copy %.0f GB/s' % copy)
for l in lines:
    if l['kind'] == 'case':
        print('$build %s/%s %.0f GB/s (%.1f%% of copy)' % (l['case'], l['variant'], l['gbps'], 100 * l['gbps'] / copy))"
  done
done
