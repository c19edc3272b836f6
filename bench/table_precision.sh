#!/bin/bash
# table_precision.sh - cagr-run --table-precision on the zoo's dlrm_kaggle_small and deepfm_avazu:
# max |prob - prob_f32| on the same inputs (--save-inputs / --inputs, --save-outputs), then p50 of
# f32, f16 and u8 tables interleaved over rounds (CPU plugin at batch 64 and 2048, PoCL one row),
# one thread, at nice -15 (docs/PERF.md "Embedding tables in f16 and u8").
#
#   bench/table_precision.sh BUILD_DIR OUT_DIR [ROUNDS]
set -euo pipefail
build=$(realpath "$1")
out=$2
rounds=${3:-3}
mkdir -p "$out"
cd "$out"
run() { nice -n -15 "$build/tools/cagr-run/cagr-run" "$@" 2>&1; }
export CAGR_PLUGIN_PATH=$build/plugins OMP_NUM_THREADS=1 POCL_MAX_PTHREAD_COUNT=1
for m in dlrm_kaggle_small deepfm_avazu; do
  [ -f $m/model.xml ] || "$build/tools/model_zoo/cagr-zoo" --model=$m --out=$m/model.xml > /dev/null
done
uptime
for m in dlrm_kaggle_small deepfm_avazu; do for b in 64 2048; do
  run --model=$m/model.xml --plugins=cpu --batch=$b --iterations=1 --save-inputs=${m}_$b.npz --save-outputs=${m}_${b}_f32.npz > /dev/null
  for p in f16 bf16 u8; do
    run --model=$m/model.xml --plugins=cpu --inputs=${m}_$b.npz --iterations=1 --table-precision=$p --save-outputs=${m}_${b}_$p.npz |
      grep "stay f32" || true
  done
done; done
python3 - <<'PY'
import numpy as np
for m in ['dlrm_kaggle_small', 'deepfm_avazu']:
    for b in [64, 2048]:
        f32 = np.load('%s_%d_f32.npz' % (m, b))
        diffs = ['%s %.3g' % (p, max(float(np.abs(f32[k] - np.load('%s_%d_%s.npz' % (m, b, p))[k]).max()) for k in f32))
                 for p in ['f16', 'bf16', 'u8']]
        print(m, 'batch', b, 'max |prob - prob_f32|:', ', '.join(diffs))
PY
for round in $(seq "$rounds"); do
  uptime
  for m in dlrm_kaggle_small deepfm_avazu; do for b in 64 2048; do
    iterations=$([ $b = 64 ] && echo 400 || echo 40)
    for p in f32 f16 u8; do
      report=$(run --model=$m/model.xml --plugins=cpu --inputs=${m}_$b.npz --iterations=$iterations --table-precision=$p)
      echo "cpu $m b=$b $p round=$round p50_us=$(echo "$report" | grep -oP 'latency p50 \K[0-9.]+')" \
           "lookups_us=$(echo "$report" | grep -E '^(embeddings|first_order) ' | awk '{print $5}' | paste -sd+)"
    done
  done; done
  for p in f32 f16 u8; do
    report=$(run --model=dlrm_kaggle_small/model.xml --plugins=opencl --inputs=dlrm_kaggle_small_64.npz --iterations=20 --table-precision=$p)
    echo "pocl dlrm_kaggle_small b=64 $p round=$round p50_us=$(echo "$report" | grep -oP 'latency p50 \K[0-9.]+')" \
         "lookups_us=$(echo "$report" | grep -E '^embeddings ' | awk '{print $5}')"
  done
done
uptime
