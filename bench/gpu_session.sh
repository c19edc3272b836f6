#!/usr/bin/env bash
# One GPU-machine session (device tool, carry [".device"]): builds CAGR there, runs every test
# (CUDA plugin, NVIDIA OpenCL, CPU), then the whole-model comparisons with PyTorch eager. Results go
# to $OUT (or ./gpu-out): the card, ctest's log, markdown tables and per-node profiles.
#
#   tools/device-setup.sh fetch          # here, once
#   bash bench/gpu_session.sh            # there: everything (about 10 minutes)
#   bash bench/gpu_session.sh tests      # or in parts, each within one device call:
#   bash bench/gpu_session.sh models     #   tests (build + tests), models (DLRM against PyTorch,
#   bash bench/gpu_session.sh embedding  #   profiles, every plugin), embedding (the embedding_bag bench),
#   bash bench/gpu_session.sh linear     #   linear (every linear variant on DLRM's GEMM shapes),
#   bash bench/gpu_session.sh optimizer  #   optimizer (cost samples from every device here, then
#                                        #   optimizer_bench: every optimiser mode, policy held out),
#   bash bench/gpu_session.sh precision  #   precision (DLRM on CPU and CUDA: f32 / tf32 / bf16 allowed)
#   bash bench/gpu_session.sh recpipe    #   recpipe (two-stage ranking, docs/PIPELINES.md: light model on
#                                        #   the CPU plugin or the GPU, heavy on the GPU; bench/recpipe_quality.py)
#   bash bench/gpu_session.sh pipeline   #   pipeline (cross-device pipeline, docs/PIPELINE_SCHEDULE.md: Kaggle
#                                        #   DLRM, embeddings on the CPU plugin, MLPs on CUDA, batch 16384)
#   bash bench/gpu_session.sh serve      #   serve (cagr-serve on CUDA: the highest rate at p99 <= 10 ms)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-out}
part=${1:-all}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/card.txt"
b=build-device
cuda=$b/plugins/libcagr_cuda.so

# Only what the part runs, so that a part fits a short device call (a cold build of everything
# takes most of one); recpipe, pipeline and serve build their own targets below.
plugins="cagr_cuda cagr_opencl cagr_cpu"
case "$part" in
  all | tests) targets="$plugins cagr-run cagr-zoo sample_models core_tests cagr_conformance_tests cagr_gpu_tests cagr_opencl_tests onnx_tests planner_tests cagr-policy optimizer_bench bench_embedding_bag_gpu bench_linear_gpu" ;;
  models | precision) targets="$plugins cagr-run cagr-zoo" ;;
  embedding) targets="cagr_cuda bench_embedding_bag_gpu" ;;
  linear) targets="cagr_cuda bench_linear_gpu" ;;
  optimizer) targets="$plugins cagr-policy optimizer_bench" ;;
  *) targets="" ;;
esac
if [ -n "$targets" ]; then
  CAGR_DEVICE_TARGETS="$targets" tools/device-setup.sh build build-device > "$out/build.txt" 2>&1 || { tail -50 "$out/build.txt"; exit 1; }
fi

# NVIDIA's OpenCL library through the ICD loader.
mkdir -p /tmp/icd && echo /usr/local/nvidia/lib64/libnvidia-opencl.so.1 > /tmp/icd/nvidia.icd
export OCL_ICD_VENDORS=/tmp/icd

if [ "$part" = all ] || [ "$part" = tests ]; then
# The tests that read ../shared/data are left out: the GPU machine has no copy of it; so are the
# plain-C plugin's conformance (not built there) and ONNX's node tests (no libonnx-testdata there).
ctest --test-dir build-device -j8 --timeout 600 --output-on-failure -R "conformance|gpu\.|opencl|Executor|ModelZoo|Onnx|Gallery|CApi|sample|Planner|Policy" \
  -E "RealAvazuRows|sample.c_api_predict|sample.cagr_run_avazu|abi.c_plugin|NOT_BUILT" > "$out/ctest.txt" 2>&1
tail -15 "$out/ctest.txt"
# The conformance cases again with fresh random seeds (each run prints its seed on failure).
for i in 1 2 3; do
  CAGR_TEST_PLUGIN=build-device/plugins/libcagr_cuda.so build-device/tests/plugins/cagr_conformance_tests \
    --gtest_brief=1 >> "$out/conformance-seeds.txt" 2>&1 && echo "seeded conformance run $i: passed" || echo "seeded conformance run $i: FAILED"
done | tee -a "$out/ctest.txt"
# A plan saved with the CUDA plugin, for tests/core/plan_test.cpp (issue 22: it must load on a
# CPU-only machine, re-bound with a warning, and give the same outputs): the zoo's sample DLRM
# (seed 2026, the test's), batch 33, tuned on CUDA; its inputs and CUDA's outputs beside it.
$b/tools/model_zoo/cagr-zoo --model=dlrm_avazu_sample --seed=2026 --out=/tmp/sample_plan/model.xml > /dev/null
$b/tools/cagr-run/cagr-run --model=/tmp/sample_plan/model.xml --plugins=$cuda --batch=33 --iterations=5 --optimizer=tune \
  --measurement_cache=off --noprofile --noprogress --save-plan="$out/dlrm_avazu_sample.cuda.plan.xml" \
  --save-inputs="$out/dlrm_avazu_sample.b33.inputs.npz" --save-outputs="$out/dlrm_avazu_sample.b33.cuda_outputs.npz" \
  > "$out/cuda-plan.txt" 2>&1; echo "CUDA plan fixture: exit $?"; tail -3 "$out/cuda-plan.txt"
fi

if [ "$part" = all ] || [ "$part" = models ]; then
# f32 on both sides, then TF32 allowed on both (outputs then differ by TF32's 10-bit mantissa);
# CAGR tunes its variants on the first batch (--tune), as a deployment would once.
python3 bench/cagr_vs_torch.py --build=$b --device=cuda --plugins=$cuda --models=dlrm_kaggle \
  --batches=2048,16384 --iterations=50 --warmup=5 --threads=16 --tune > "$out/dlrm.md" 2> "$out/dlrm.log"
python3 bench/cagr_vs_torch.py --build=$b --device=cuda --plugins=$cuda --models=dlrm_kaggle \
  --batches=2048,16384 --iterations=50 --warmup=5 --threads=16 --tune --allow-tf32 --tolerance=2e-2 \
  >> "$out/dlrm.md" 2>> "$out/dlrm.log"
cat "$out/dlrm.md"

# Where the time goes: per-node device time at batch 16384, inputs resident.
$b/tools/model_zoo/cagr-zoo --model=dlrm_kaggle --out=/tmp/dlrm_kaggle/model.xml > /dev/null
printf '<plugins><plugin name="cuda"><option key="allow_tf32" value="1"/></plugin></plugins>\n' > /tmp/tf32.xml
for batch in 16384 2048; do
  $b/tools/cagr-run/cagr-run --model=/tmp/dlrm_kaggle/model.xml --plugins=$cuda --batch=$batch --iterations=50 \
    --resident_inputs --tune --print-plan > "$out/profile-$batch.txt" 2>&1
  $b/tools/cagr-run/cagr-run --model=/tmp/dlrm_kaggle/model.xml --plugins=$cuda --batch=$batch --iterations=50 \
    --resident_inputs --tune --print-plan --plugin_manifest=/tmp/tf32.xml > "$out/profile-tf32-$batch.txt" 2>&1
done
tail -40 "$out/profile-16384.txt"

# The same DLRM (tables capped at 100K rows) on each plugin: CUDA, NVIDIA OpenCL, the host CPU.
$b/tools/model_zoo/cagr-zoo --model=dlrm_kaggle_small --out=/tmp/dlrm_small/model.xml > /dev/null
for p in libcagr_cuda.so libcagr_opencl.so libcagr_cpu.so; do
  for batch in 64 2048; do
    echo "== $p batch $batch"
    $b/tools/cagr-run/cagr-run --model=/tmp/dlrm_small/model.xml --plugins=$b/plugins/$p --batch=$batch \
      --iterations=50 --report=json --profile=false
  done
done > "$out/plugins.txt" 2>&1
cat "$out/plugins.txt"

fi

if [ "$part" = all ] || [ "$part" = linear ]; then
# linear: every variant on DLRM's GEMM shapes, f32 then TF32 allowed, device time and error.
$b/bench/bench_linear_gpu --plugin $cuda --iterations 50 > "$out/linear.md" 2>&1
$b/bench/bench_linear_gpu --plugin $cuda --iterations 50 --allow-tf32 1 >> "$out/linear.md" 2>&1
cat "$out/linear.md"
fi

if [ "$part" = all ] || [ "$part" = embedding ]; then
# embedding_bag: every variant against PyTorch eager and a device copy, 20M x 128 and x 16, batch 16384.
python3 bench/gpu_vs_pytorch.py --bench $b/bench/bench_embedding_bag_gpu --plugin $cuda --iterations 100 \
  > "$out/embedding.md" 2>&1
cat "$out/embedding.md"
fi

if [ "$part" = all ] || [ "$part" = optimizer ]; then
# Cost samples for the learned policy from every device of this machine (the CUDA plugin, NVIDIA's
# OpenCL, the host CPU; docs/OPTIMISER.md), each bounded in time (collect appends per model and
# batch, so a timeout keeps what was measured); then every optimiser mode side by side, each row's
# policy trained without that row's model and device (optimizer_bench).
for p in cuda opencl cpu; do
  timeout ${COLLECT_SECONDS:-100} $b/tools/cagr-policy/cagr-policy collect --plugins=$b/plugins/libcagr_$p.so \
    --batches=64,2048 --out="$out/samples-$p.tsv" > "$out/collect-$p.txt" 2>&1 || echo "collect on $p: stopped (exit $?)"
  tail -8 "$out/collect-$p.txt"
done
samples=policy/samples/cpu-pocl-2core.tsv
for p in cuda opencl cpu; do [ -s "$out/samples-$p.tsv" ] && samples="$samples,$out/samples-$p.tsv"; done
$b/tools/cagr-policy/cagr-policy check --samples="$samples" --leave_one_out > "$out/policy-check.txt" 2>&1; tail -20 "$out/policy-check.txt"
timeout ${BENCH_SECONDS:-240} $b/bench/optimizer_bench --samples="$samples" --plugins=$cuda --batches=64,2048 --rounds=5 --passes=20 \
  --csv="$out/optimizer-cuda.csv" > "$out/optimizer-cuda.md" 2>"$out/optimizer-cuda.log"; cat "$out/optimizer-cuda.md"
timeout ${BENCH_SECONDS:-240} $b/bench/optimizer_bench --samples="$samples" --plugins=$cuda,$b/plugins/libcagr_cpu.so \
  --models=dlrm_avazu_sample,deepfm_avazu,dlrm_kaggle_small --batches=64,2048 --rounds=3 --passes=10 \
  --csv="$out/optimizer-cuda-cpu.csv" > "$out/optimizer-cuda-cpu.md" 2>"$out/optimizer-cuda-cpu.log"; cat "$out/optimizer-cuda-cpu.md"
fi

if [ "$part" = all ] || [ "$part" = recpipe ]; then
# RecPipe (docs/PIPELINES.md): the light model on the host CPU (CPU plugin) and the heavy one on the
# GPU, then both on the GPU; quality (NDCG@k, recall@k against the heavy model ranking all N) and
# latency / queries/s beside the heavy model alone on the GPU. The light model is trained here for
# 60 s on the CPU, as on the 2-core VM (docs/PERF.md, "RecPipe").
CAGR_DEVICE_TARGETS="cagr-rank cagr-gen cagr_cpu cagr_cuda" tools/device-setup.sh build build-device > "$out/build-recpipe.txt" 2>&1 \
  || { tail -30 "$out/build-recpipe.txt"; exit 1; }
for placement in cpu:0,cuda:0 cuda:0,cuda:0; do
  timeout ${RECPIPE_SECONDS:-400} python3 bench/recpipe_quality.py --build $b --workdir "$out/recpipe" --plugins=cpu,cuda \
    --light-devices=${placement%,*} --heavy-devices=${placement#*,} --train-seconds 60 --rounds 3 \
    --settings 1024:32,1024:64,1024:128,4096:128,16384:256 --queries 1024:200,4096:100,16384:40 \
    --plot "$out/recpipe-${placement//[:,]/_}.png" > "$out/recpipe-${placement//[:,]/_}.md" 2> "$out/recpipe-${placement//[:,]/_}.log"
  cat "$out/recpipe-${placement//[:,]/_}.md"
done
fi

if [ "$part" = all ] || [ "$part" = pipeline ]; then
# The cross-device pipeline (docs/PIPELINE_SCHEDULE.md, docs/PERF.md "## Pipeline"): the Kaggle DLRM
# (2.1 GB of tables) at batch 16384, its embedding (and bottom MLP) on the CPU plugin and its
# interaction and top MLP on CUDA: unpipelined, in k sub-batches one after another, and pipelined,
# against the CPU alone and the GPU alone (every table resident on the GPU). Then cagr-run follows
# the split plan the bench saved, pipelined, and prints its timeline.
CAGR_DEVICE_TARGETS="pipeline_bench cagr-run cagr-zoo cagr_cpu cagr_cuda" tools/device-setup.sh build build-device > "$out/build-pipeline.txt" 2>&1 \
  || { tail -30 "$out/build-pipeline.txt"; exit 1; }
[ -f /tmp/dlrm_kaggle/model.xml ] || $b/tools/model_zoo/cagr-zoo --model=dlrm_kaggle --out=/tmp/dlrm_kaggle/model.xml > /dev/null
timeout ${PIPELINE_SECONDS:-500} $b/bench/pipeline_bench --plugins=$b/plugins --model=/tmp/dlrm_kaggle/model.xml --batch=16384 \
  --embeddings=cpu --rest=cuda --sub_batches=2,4,8,16,auto --rounds=5 --passes=10 --save_plan="$out/pipeline-kaggle.plan.xml" \
  > "$out/pipeline-kaggle.md" 2> "$out/pipeline-kaggle.log"
head -20 "$out/pipeline-kaggle.md"
$b/tools/cagr-run/cagr-run --model=/tmp/dlrm_kaggle/model.xml --plugins=$b/plugins/libcagr_cpu.so,$cuda --batch=16384 --iterations=20 \
  --load-plan="$out/pipeline-kaggle.plan.xml" --print-plan --noprofile --noprogress > "$out/pipeline-kaggle-cagr-run.txt" 2>&1
grep -A40 "^pipeline:" "$out/pipeline-kaggle-cagr-run.txt" | head -40; tail -1 "$out/pipeline-kaggle-cagr-run.txt"
# The same cut of a DLRM exported the usual way from PyTorch (ids turned table-major in the graph).
timeout 200 $b/bench/pipeline_bench --plugins=$b/plugins --model=tests/onnx/gallery/dlrm_embedding_dynamo.onnx --batch=16384 \
  --embeddings=cpu --rest=cuda --sub_batches=2,4,8,auto --rounds=3 --passes=10 > "$out/pipeline-gallery-dlrm.md" 2> "$out/pipeline-gallery-dlrm.log"
head -14 "$out/pipeline-gallery-dlrm.md"
# The GPU paging the tables through host memory (the issue's other baseline): the OpenCL plugin on
# NVIDIA's OpenCL with a 1 GiB table budget, so the 2.1 GB of tables stay in host memory behind its
# embedding cache (docs/EMBEDDING_CACHE.md); then the same plugin with every table resident.
CAGR_DEVICE_TARGETS="cagr_opencl" tools/device-setup.sh build build-device >> "$out/build-pipeline.txt" 2>&1
printf '<plugins><plugin name="opencl"><option key="table_budget_bytes" value="1073741824"/></plugin></plugins>\n' > /tmp/budget.xml
for m in /tmp/budget.xml ""; do
  timeout 120 $b/tools/cagr-run/cagr-run --model=/tmp/dlrm_kaggle/model.xml --plugins=$b/plugins/libcagr_opencl.so \
    ${m:+--plugin-manifest=$m} --batch=16384 --iterations=10 --print-plan --noprogress > "$out/opencl${m:+-paged}-kaggle.txt" 2>&1
  echo "opencl ${m:+(1 GiB table budget)}: $(grep -E '^end to end' "$out/opencl${m:+-paged}-kaggle.txt")"
done
fi

if [ "$part" = all ] || [ "$part" = serve ]; then
# Serving (issue 27, docs/PERF.md "Serving"): cagr-serve on CUDA with the Kaggle DLRM (two model
# instances on the GPU, 8 clients), the highest rate whose p99 stays under 10 ms, with dynamic
# batching (at most 256 queries together, 1 ms wait) and without (one query at a time).
CAGR_DEVICE_TARGETS="cagr-serve cagr-zoo cagr_cuda" tools/device-setup.sh build build-device > "$out/build-serve.txt" 2>&1 \
  || { tail -30 "$out/build-serve.txt"; exit 1; }
[ -f /tmp/dlrm_kaggle/model.xml ] || $b/tools/model_zoo/cagr-zoo --model=dlrm_kaggle --out=/tmp/dlrm_kaggle/model.xml > /dev/null
for mb in 256 1; do
  timeout ${SERVE_SECONDS:-120} $b/tools/cagr-serve/cagr-serve --model=/tmp/dlrm_kaggle/model.xml --plugins=cuda --instances=cuda:2 \
    --sweep --rate=2000 --seconds=1.5 --max-queries=60000 --max-batch=$mb --max-wait-us=1000 --p99-target-ms=10 --sweep-steps=4 \
    --clients=8 > "$out/serve-cuda-mb$mb.txt" 2>&1; echo "== max batch $mb (exit $?)"; tail -12 "$out/serve-cuda-mb$mb.txt"
done
fi

if [ "$part" = all ] || [ "$part" = precision ]; then
# --precision (docs/PLANS.md): the Kaggle DLRM (tables capped at 100K rows) on the host CPU and on
# CUDA, f32 against TF32 and bf16 allowed, every mode tuned on the same inputs; end-to-end p50 and
# the largest change of the click probability against the f32 run.
$b/tools/model_zoo/cagr-zoo --model=dlrm_kaggle_small --out=/tmp/dlrm_small/model.xml > /dev/null
for p in cpu cuda; do
  for batch in 64 2048; do
    for prec in f32 tf32 bf16; do
      io="--save-inputs=$out/in-$batch.npz"; [ -f "$out/in-$batch.npz" ] && io="--inputs=$out/in-$batch.npz"
      $b/tools/cagr-run/cagr-run --model=/tmp/dlrm_small/model.xml --plugins=$b/plugins/libcagr_$p.so --batch=$batch \
        --iterations=200 --precision=$prec --optimizer=tune --measurement_cache=off --profile=false --print-plan $io \
        --save-outputs="$out/prec-$p-$batch-$prec.npz" > "$out/prec-$p-$batch-$prec.txt" 2>&1
      echo "$p batch $batch $prec: $(grep -E 'end to end' "$out/prec-$p-$batch-$prec.txt")"
    done
  done
done | tee "$out/precision.txt"
python3 - "$out" <<'PY' | tee -a "$out/precision.txt"
import sys, glob, numpy as np
out = sys.argv[1]
for f in sorted(glob.glob(out + "/prec-*-f32.npz")):
    base = np.load(f)
    for prec in ("tf32", "bf16"):
        other = np.load(f.replace("-f32.npz", "-" + prec + ".npz"))
        d = max(float(np.max(np.abs(base[k] - other[k]))) for k in base.files)
        print(f"{f.split('/')[-1][5:-8]} {prec}: max |prob - prob_f32| = {d:.3g}")
PY
fi
