#!/usr/bin/env python3
"""CAGR's CPU plugin against onnxruntime's CPU provider on the same ONNX files.

Builds the DLRM Criteo-Kaggle configuration (13 dense features, 26 tables of dim 16 capped at
--max-rows rows, bottom MLP 13-512-256-64-16, top MLP 367-512-256-1) in PyTorch, exports it with
both exporters (TorchScript-based and dynamo) into --workdir, then for each file and batch size runs
  - onnxruntime (CPUExecutionProvider, all graph optimisations, intra-op threads = --threads), and
  - cagr-run --model=<the same .onnx> on the CPU plugin (OMP_NUM_THREADS = --threads),
on the same inputs (one id per table and sample, as in Criteo), checks that the outputs agree to
1e-5 relative, and prints p50 latencies and the ratio onnxruntime / CAGR.

    python3 bench/onnx_vs_ort.py --cagr-run build/tools/cagr-run/cagr-run \\
        --plugin build/plugins/libcagr_cpu.so [--threads 2] [--batches 64,2048]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "onnx_fixtures"))
import recsys_models as R  # noqa: E402


def export_models(workdir, max_rows):
    rows = R.capped(R.CRITEO_KAGGLE_ROWS, max_rows)
    paths = {name: os.path.join(workdir, f"dlrm_kaggle_{max_rows}_{name}.onnx") for name in ("torchscript", "dynamo")}
    if all(os.path.exists(p) for p in paths.values()):
        return rows, paths
    torch.manual_seed(0)
    model = R.Dlrm(R.CRITEO_DENSE, rows, 16, [512, 256, 64], [512, 256]).eval()
    example = R.random_inputs(R.CRITEO_DENSE, rows, 4, seed=1)
    for name, path in paths.items():
        t0 = time.time()
        R.export(model, example, path, dynamo=(name == "dynamo"), external_data=True)
        print(f"exported {path} in {time.time() - t0:.0f} s", file=sys.stderr)
    return rows, paths


def time_ort(session, inputs, min_runs, min_seconds):
    session.run(None, inputs)  # warm-up
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        session.run(None, inputs)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e6


def run_cagr(args, model, npz, out, runs):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    cmd = [args.cagr_run, f"--model={model}", f"--inputs={npz}", f"--save-outputs={out}", f"--plugins={args.plugin}",
           "--probe=false", f"--iterations={runs}", "--warmup=3", "--profile=false", "--report=json"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"cagr-run failed: {result.stderr}")
    return json.loads(result.stdout)["latency_us"]["p50"], np.load(out)["prob"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cagr-run", required=True)
    parser.add_argument("--plugin", required=True, help="the CPU plugin's .so")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", default="64,2048")
    parser.add_argument("--max-rows", type=int, default=1000000, help="rows per table at most")
    parser.add_argument("--workdir", default="/tmp/cagr_onnx_bench")
    parser.add_argument("--min-runs", type=int, default=20)
    parser.add_argument("--min-seconds", type=float, default=3.0)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    rows, paths = export_models(args.workdir, args.max_rows)

    print(f"DLRM Criteo Kaggle, 26 tables x dim 16 (at most {args.max_rows} rows, {sum(rows)} in all), "
          f"bottom 13-512-256-64-16, top 367-512-256-1; {args.threads} threads")
    print(f"{'exporter':<12} {'batch':>6} {'onnxruntime us':>15} {'CAGR us':>10} {'ort / CAGR':>11} {'max rel diff':>13}")
    ratios = []
    for batch in (int(b) for b in args.batches.split(",")):
        inputs = R.random_inputs(R.CRITEO_DENSE, rows, batch, seed=batch, min_pooling=1, max_pooling=1)
        npz = os.path.join(args.workdir, f"inputs_{batch}.npz")
        np.savez(npz, **inputs)
        for name, path in paths.items():
            want, session = R.run_onnxruntime(path, inputs, threads=args.threads)
            ort_us = time_ort(session, inputs, args.min_runs, args.min_seconds)
            del session
            runs = max(args.min_runs, int(args.min_seconds * 1e6 / max(ort_us / 4, 1.0)))
            cagr_us, got = run_cagr(args, path, npz, os.path.join(args.workdir, "cagr_out.npz"), runs)
            diff = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-3)))
            if diff > 1e-5:
                sys.exit(f"{path} batch {batch}: CAGR and onnxruntime differ by {diff:.2e} (relative)")
            ratios.append(ort_us / cagr_us)
            print(f"{name:<12} {batch:>6} {ort_us:>15.1f} {cagr_us:>10.1f} {ort_us / cagr_us:>10.2f}x {diff:>13.1e}", flush=True)
    print(f"smallest ratio: {min(ratios):.2f}x")


if __name__ == "__main__":
    main()
