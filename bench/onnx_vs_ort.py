#!/usr/bin/env python3
"""CAGR's CPU plugin against onnxruntime's CPU provider on the same ONNX files, in one process.

Builds the DLRM Criteo-Kaggle configuration (13 dense features, 26 tables of dim 16 capped at
--max-rows rows, bottom MLP 13-512-256-64-16, top MLP 367-512-256-1) in PyTorch, exports it with
both exporters (TorchScript-based and dynamo) into --workdir, then for each file and batch size
loads it into
  - onnxruntime (CPUExecutionProvider, all graph optimisations, intra-op threads = --threads), and
  - CAGR through its C API (libcagr.so, the CPU plugin only, OMP_NUM_THREADS = --threads),
checks that their outputs agree to 1e-5 relative on the same inputs (one id per table and sample,
as in Criteo), and times them in alternating blocks (--rounds of each) so that both see the same
load on a shared machine; prints median latencies and the ratio onnxruntime / CAGR.

    python3 bench/onnx_vs_ort.py --libcagr build/core/libcagr.so \\
        --plugin build/plugins/libcagr_cpu.so [--threads 2] [--batches 64,2048]
"""
import argparse
import ctypes
import os
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


class CagrSession:
    """A CAGR model and session through the C API (core/cagr.h) with ctypes."""

    class Tensor(ctypes.Structure):
        _fields_ = [("struct_size", ctypes.c_size_t), ("name", ctypes.c_char_p), ("dtype", ctypes.c_int32),
                    ("rank", ctypes.c_int32), ("dims", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p)]

    class RuntimeOptions(ctypes.Structure):
        _fields_ = [("struct_size", ctypes.c_size_t), ("plugins", ctypes.c_char_p), ("manifest", ctypes.c_char_p),
                    ("probe_in_child", ctypes.c_int)]

    class SessionOptions(ctypes.Structure):
        _fields_ = [("struct_size", ctypes.c_size_t), ("example_inputs", ctypes.c_void_p),
                    ("num_example_inputs", ctypes.c_size_t), ("profile", ctypes.c_int)]

    DTYPES = {np.dtype(np.float32): 1, np.dtype(np.int64): 5}

    def __init__(self, lib, plugin, model_path):
        self.lib = lib
        lib.cagr_last_error.restype = ctypes.c_char_p
        self.runtime, self.model, self.session = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
        options = self.RuntimeOptions(ctypes.sizeof(self.RuntimeOptions), plugin.encode(), None, 0)
        self.check(lib.cagr_runtime_create(ctypes.byref(options), ctypes.byref(self.runtime)))
        self.check(lib.cagr_model_load(self.runtime, model_path.encode(), ctypes.byref(self.model)))
        session_options = self.SessionOptions(ctypes.sizeof(self.SessionOptions), None, 0, 0)
        self.check(lib.cagr_session_create(self.model, ctypes.byref(session_options), ctypes.byref(self.session)))

    def check(self, status):
        if status != 0:
            sys.exit(f"CAGR: {self.lib.cagr_last_error().decode()}")

    def bind(self, inputs):
        """Tensors for `inputs` (name -> array); the arrays must outlive the runs."""
        self.arrays = {k: np.ascontiguousarray(v) for k, v in inputs.items()}
        self.dims = {k: (ctypes.c_int64 * v.ndim)(*v.shape) for k, v in self.arrays.items()}
        self.tensors = (self.Tensor * len(self.arrays))(*[
            self.Tensor(ctypes.sizeof(self.Tensor), k.encode(), self.DTYPES[v.dtype], v.ndim, self.dims[k], v.ctypes.data)
            for k, v in self.arrays.items()])

    def run(self):
        self.check(self.lib.cagr_session_run(self.session, len(self.arrays), self.tensors))

    def output(self, name):
        out = self.Tensor()
        out.struct_size = ctypes.sizeof(self.Tensor)
        self.check(self.lib.cagr_session_output(self.session, name.encode(), ctypes.byref(out)))
        shape = [out.dims[i] for i in range(out.rank)]
        return np.ctypeslib.as_array(ctypes.cast(out.data, ctypes.POINTER(ctypes.c_float)), shape=shape).copy()

    def close(self):
        self.lib.cagr_session_destroy(self.session)
        self.lib.cagr_model_destroy(self.model)
        self.lib.cagr_runtime_destroy(self.runtime)


def timed_block(run, seconds, min_runs):
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--libcagr", required=True, help="libcagr.so (the C API)")
    parser.add_argument("--plugin", required=True, help="the CPU plugin's .so")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", default="64,2048")
    parser.add_argument("--max-rows", type=int, default=1000000, help="rows per table at most")
    parser.add_argument("--workdir", default="/tmp/cagr_onnx_bench")
    parser.add_argument("--min-runs", type=int, default=5, help="per block")
    parser.add_argument("--seconds", type=float, default=1.0, help="per block")
    parser.add_argument("--rounds", type=int, default=3, help="alternating blocks of each runtime")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before the CPU plugin's OpenMP starts
    lib = ctypes.CDLL(args.libcagr)
    os.makedirs(args.workdir, exist_ok=True)
    torch.set_num_threads(args.threads)
    rows, paths = export_models(args.workdir, args.max_rows)

    print(f"DLRM Criteo Kaggle, 26 tables x dim 16 (at most {args.max_rows} rows, {sum(rows)} in all), "
          f"bottom 13-512-256-64-16, top 367-512-256-1; {args.threads} threads")
    print(f"{'exporter':<12} {'batch':>6} {'onnxruntime us':>15} {'CAGR us':>10} {'ort / CAGR':>11} {'max rel diff':>13}")
    ratios = []
    for batch in (int(b) for b in args.batches.split(",")):
        inputs = R.random_inputs(R.CRITEO_DENSE, rows, batch, seed=batch, min_pooling=1, max_pooling=1)
        for name, path in paths.items():
            want, ort_session = R.run_onnxruntime(path, inputs, threads=args.threads)
            cagr = CagrSession(lib, args.plugin, path)
            cagr.bind(inputs)
            cagr.run()
            got = cagr.output("prob")
            diff = float(np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-3)))
            if got.shape != want.shape or diff > 1e-5:
                sys.exit(f"{path} batch {batch}: CAGR and onnxruntime differ by {diff:.2e} (relative)")
            ort_times, cagr_times = [], []
            for _ in range(args.rounds):
                ort_times += timed_block(lambda: ort_session.run(None, inputs), args.seconds, args.min_runs)
                cagr_times += timed_block(cagr.run, args.seconds, args.min_runs)
            cagr.close()
            del ort_session
            ort_us, cagr_us = float(np.median(ort_times)) * 1e6, float(np.median(cagr_times)) * 1e6
            ratios.append(ort_us / cagr_us)
            print(f"{name:<12} {batch:>6} {ort_us:>15.1f} {cagr_us:>10.1f} {ort_us / cagr_us:>10.2f}x {diff:>13.1e}", flush=True)
    print(f"smallest ratio: {min(ratios):.2f}x")


if __name__ == "__main__":
    main()
